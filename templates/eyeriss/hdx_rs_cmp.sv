// Compute engine of the row-stationary accelerator (docs/architecture.md, section 9).
//
// Runs PASS commands in order. A pass: filter load (p * q * kw cycles), then per output
// column: ifmap delivery (chunks * ceil(span / ROWS) cycles per value, ROWS diagonals per
// cycle) and p * q * kw MAC cycles; the column's psums are copied into the PEs' shadow
// registers once the drain has taken the previous column, and the drain adds them down
// each PE column into the accumulators, one output row (entry) per cycle. The cycle after a
// column's last MAC is the copy cycle; the next column's delivery, or the next pass's
// filter load, starts in it.
module hdx_rs_cmp #(
  parameter ROWS  = 4,
  parameter COLS  = 4,
  parameter SI    = 12,
  parameter SF    = 224,
  parameter SP    = 24,
  parameter WORDS = 28,
  parameter IAW   = 10,
  parameter WAW   = 10,
  parameter CAW   = 8
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic                     busy_i,
  input  logic                     clear_i,
  input  logic                     cmd_valid_i,
  output logic                     cmd_ready_o,
  input  logic [WORDS*32-1:0]      cmd_i,
  input  logic [31:0]              cnt_ld_i,
  input  logic [31:0]              cnt_st_i,
  output logic [31:0]              done_cnt_o,
  // weight buffer: one row of COLS bytes per PE row
  output logic [ROWS*WAW-1:0]      wb_raddr_o,
  input  logic [ROWS*COLS*8-1:0]   wb_rdata_i,
  // ifmap buffer: one byte per port
  output logic [ROWS*IAW-1:0]      ib_raddr_o,
  input  logic [ROWS*8-1:0]        ib_rdata_i,
  // accumulator read-modify-write
  output logic [CAW-1:0]           acc_raddr_o,
  input  logic [COLS*32-1:0]       acc_rdata_i,
  output logic                     acc_we_o,
  output logic [CAW-1:0]           acc_waddr_o,
  output logic [COLS*32-1:0]       acc_wdata_o,
  // events
  output logic [63:0]              ev_macs_o,
  output logic [63:0]              ev_ifmap_rd_o,
  output logic [63:0]              ev_weight_rd_o,
  output logic [63:0]              ev_acc_rd_o,
  output logic [63:0]              ev_acc_wr_o,
  output logic [63:0]              ev_spad_ifmap_wr_o,
  output logic [63:0]              ev_spad_filter_wr_o,
  output logic [63:0]              ev_spad_rd_o      // per MAC: ifmap, filter, psum reads
);
  `include "hdx_rs_cmd.vh"

  localparam SIW = SI > 1 ? $clog2(SI) : 1;
  localparam SFW = SF > 1 ? $clog2(SF) : 1;
  localparam SPW = SP > 1 ? $clog2(SP) : 1;
  localparam integer RowsI = ROWS;
  localparam [31:0]  Rows32 = RowsI[31:0];
  localparam integer AccBytesI = 4 * COLS;
  localparam [63:0]  AccBytes = {32'd0, AccBytesI[31:0]};

  function automatic [31:0] fld(input [WORDS*32-1:0] v, input integer i);
    fld = v[i*32 +: 32];
  endfunction

  // ---------------------------------------------------------------- command registers
  // verilator lint_off UNUSEDSIGNAL
  // Command words are 32 bits wide; not every bit of every field is used.
  logic [WORDS*32-1:0] nxt_q, cur_q, acmd;
  // verilator lint_on UNUSEDSIGNAL
  logic nxt_valid_q;
  typedef enum logic [2:0] {IDLE, FILT, DELIV, MAC, WAIT} phase_e;
  phase_e ph_q;
  logic [31:0] done_q;

  logic deps_ok, copy_ok, copy, more_cols, pass_end, start, deliv_start;
  logic dr_act_q;
  logic [15:0] dr_j_q, dr_e_q;
  logic [31:0] ow_q;
  assign deps_ok   = cnt_ld_i >= fld(nxt_q, RS_WAIT_LD) && done_q >= fld(nxt_q, RS_WAIT_CMP) &&
                     cnt_st_i >= fld(nxt_q, RS_WAIT_ST);
  assign copy_ok   = !dr_act_q || dr_j_q + 16'd1 == dr_e_q;
  assign copy      = ph_q == WAIT && copy_ok;
  assign more_cols = ow_q + 32'd1 < fld(cur_q, RS_WOUT);
  assign pass_end  = copy && !more_cols;
  assign deliv_start = copy && more_cols;
  assign start     = (ph_q == IDLE || pass_end) && nxt_valid_q && deps_ok;
  assign cmd_ready_o = busy_i && (!nxt_valid_q || start);
  assign acmd      = start ? nxt_q : cur_q;  // the command the array works on this cycle

  // Effective phase of this cycle.
  logic in_filt, in_deliv, in_mac;
  assign in_filt  = start || ph_q == FILT;
  assign in_deliv = deliv_start || ph_q == DELIV;
  assign in_mac   = ph_q == MAC;

  // ---------------------------------------------------------------- row and column roles
  logic [31:0] q, p, kw, stride, cin_g, c0, nv;
  assign q      = fld(acmd, RS_Q);
  assign p      = fld(acmd, RS_P);
  assign kw     = fld(acmd, RS_KW);
  assign stride = fld(acmd, RS_STRIDE);
  assign cin_g  = fld(acmd, RS_CIN_G);
  assign c0     = fld(acmd, RS_C0);
  assign nv     = fld(acmd, RS_N_VALID);

  logic [ROWS-1:0] row_act;
  logic [ROWS*8-1:0] row_v, row_i;
  logic [COLS-1:0] col_act;
  logic [COLS*8-1:0] col_h, col_j;
  // PE row r is filter row r mod rows of chunk r / rows; rows of chunks < CHUNKS work.
  always_comb begin : roles
    logic [7:0] rv, ri, ch, cj;
    rv = 8'd0;
    ri = 8'd0;
    for (int r = 0; r < ROWS; r++) begin
      row_v[r*8 +: 8] = rv;
      row_i[r*8 +: 8] = ri;
      row_act[r] = {24'd0, rv} < fld(acmd, RS_CHUNKS);
      if ({24'd0, ri} + 32'd1 == fld(acmd, RS_ROWS)) begin
        ri = 8'd0;
        rv = rv + 8'd1;
      end else begin
        ri = ri + 8'd1;
      end
    end
    ch = 8'd0;
    cj = 8'd0;
    for (int k = 0; k < COLS; k++) begin
      col_h[k*8 +: 8] = ch;
      col_j[k*8 +: 8] = cj;
      col_act[k] = {24'd0, ch} < fld(acmd, RS_SETS);
      if ({24'd0, cj} + 32'd1 == fld(acmd, RS_E)) begin
        cj = 8'd0;
        ch = ch + 8'd1;
      end else begin
        cj = cj + 8'd1;
      end
    end
  end

  // ---------------------------------------------------------------- counters of the phases
  // Filter load: f fastest, then tap x, then channel c. Delivery: batch b fastest, then
  // chunk v, then column y, then channel c. MACs: tap x fastest, then channel c, then f.
  logic [15:0] f_q, x_q, c_q, b_q, v_q, y_q;
  logic [15:0] f, x, c, b, v, y;
  logic fresh;  // first cycle of a phase: counters read as 0
  assign fresh = start || deliv_start;
  assign f = fresh ? 16'd0 : f_q;
  assign x = fresh ? 16'd0 : x_q;
  assign c = fresh ? 16'd0 : c_q;
  assign b = fresh ? 16'd0 : b_q;
  assign v = fresh ? 16'd0 : v_q;
  assign y = fresh ? 16'd0 : y_q;

  // Column state: ow, the ring base (ow * stride) mod kw, and the input column of tap 0.
  logic [31:0] base_q, colb_q, ow, base, colb, span, nb, ny, s1;
  logic [31:0] base_next;
  assign base_next = (base_q + stride) % kw;
  assign ow   = deliv_start ? ow_q + 32'd1 : ow_q;
  assign base = deliv_start ? base_next : base_q;
  assign colb = deliv_start ? colb_q + stride : colb_q;
  assign span = (fld(acmd, RS_E) - 32'd1) * stride + fld(acmd, RS_ROWS);
  assign nb   = (span + Rows32 - 32'd1) / Rows32;          // batches per chunk
  assign s1   = stride < kw ? stride : kw;                  // new columns per later column
  assign ny   = ow == 32'd0 ? kw : s1;

  logic filt_last, deliv_last, mac_last;
  assign filt_last  = {16'd0, f} + 1 == p && {16'd0, x} + 1 == kw && {16'd0, c} + 1 == q;
  assign deliv_last = {16'd0, b} + 1 == nb && {16'd0, v} + 1 == fld(acmd, RS_CHUNKS) &&
                      {16'd0, y} + 1 == ny && {16'd0, c} + 1 == q;
  assign mac_last   = {16'd0, x} + 1 == kw && {16'd0, c} + 1 == q && {16'd0, f} + 1 == p;

  // ---------------------------------------------------------------- filter load
  logic [ROWS-1:0] fl_cv;
  logic [SFW-1:0]  fl_addr;
  logic [31:0]     fl_rows_ok;
  for (genvar r = 0; r < ROWS; r++) begin : g_wrow
    // verilator lint_off UNUSEDSIGNAL
    // Only the weight buffer's address bits of the 32-bit address are used.
    logic [31:0] ch, k, addr;
    // verilator lint_on UNUSEDSIGNAL
    assign ch   = c0 + {24'd0, row_v[r*8 +: 8]} * q + {16'd0, c};
    assign fl_cv[r] = in_filt && row_act[r] && ch < cin_g;
    assign k    = ((fld(acmd, RS_KR0) + {24'd0, row_i[r*8 +: 8]}) * kw + {16'd0, x}) * cin_g + ch;
    assign addr = fld(acmd, RS_W_ADDR) + k * fld(acmd, RS_TILE_N);
    assign wb_raddr_o[r*WAW +: WAW] = addr[WAW-1:0];
  end
  // verilator lint_off UNUSEDSIGNAL
  // Scratchpad addresses are computed in 32 bits; the low SFW / SIW bits index the entry.
  logic [31:0] fl_a;
  assign fl_a    = ({16'd0, f} * q + {16'd0, c}) * kw + {16'd0, x};
  // verilator lint_on UNUSEDSIGNAL
  assign fl_addr = fl_a[SFW-1:0];
  always_comb begin
    fl_rows_ok = '0;
    for (int r = 0; r < ROWS; r++) fl_rows_ok = fl_rows_ok + {31'd0, fl_cv[r]};
  end

  // ---------------------------------------------------------------- ifmap delivery
  logic [ROWS*8-1:0] dl_data;
  logic [ROWS-1:0]   dl_rd;
  // verilator lint_off UNUSEDSIGNAL
  // Scratchpad addresses are computed in 32 bits; the low SIW bits index the entry.
  logic [31:0]       dl_slot_raw, dl_slot, dl_a, ycol;
  // verilator lint_on UNUSEDSIGNAL
  assign ycol        = ow == 32'd0 ? {16'd0, y} : kw - s1 + {16'd0, y};
  assign dl_slot_raw = base + ycol;
  assign dl_slot     = dl_slot_raw >= kw ? dl_slot_raw - kw : dl_slot_raw;
  assign dl_a        = {16'd0, c} * kw + dl_slot;
  for (genvar r = 0; r < ROWS; r++) begin : g_port
    localparam [31:0] Port = r;
    // verilator lint_off UNUSEDSIGNAL
    // Only the ifmap buffer's address bits of the 32-bit address are used.
    logic [31:0] d, ch, row, col, addr;
    // verilator lint_on UNUSEDSIGNAL
    logic ok;
    assign d    = {16'd0, b} * Rows32 + Port;
    assign ch   = c0 + {16'd0, v} * q + {16'd0, c};
    assign row  = $signed(fld(acmd, RS_IH0)) + d;
    assign col  = colb + ycol;
    assign ok   = in_deliv && d < span && ch < cin_g && $signed(row) >= 0 &&
                  $signed(row) < $signed(fld(acmd, RS_IN_H)) && $signed(col) >= 0 &&
                  $signed(col) < $signed(fld(acmd, RS_IN_W));
    assign addr = fld(acmd, RS_IBASE) +
                  ((row - fld(acmd, RS_IR0)) * fld(acmd, RS_IN_W) + col) * fld(acmd, RS_CL) +
                  fld(acmd, RS_CG0) + ch;
    assign ib_raddr_o[r*IAW +: IAW] = addr[IAW-1:0];
    assign dl_rd[r] = ok;
    assign dl_data[r*8 +: 8] = ok ? ib_rdata_i[r*8 +: 8] : 8'd0;
  end

  // ---------------------------------------------------------------- MACs
  // verilator lint_off UNUSEDSIGNAL
  // Scratchpad addresses are computed in 32 bits; the low SFW / SIW bits index the entry.
  logic [31:0] mac_fa, mac_slot_raw, mac_ia;
  // verilator lint_on UNUSEDSIGNAL
  assign mac_fa       = ({16'd0, f} * q + {16'd0, c}) * kw + {16'd0, x};
  assign mac_slot_raw = base + {16'd0, x};
  assign mac_ia       = {16'd0, c} * kw +
                        (mac_slot_raw >= kw ? mac_slot_raw - kw : mac_slot_raw);

  // ---------------------------------------------------------------- array
  logic [COLS*SP*32-1:0] colsum;
  logic [ROWS-1:0] dr_rows_q, cur_rows_q;  // working rows: of the pass drained, of cur_q
  logic [15:0] ev_fw, ev_iw;
  hdx_rs_array #(
    .ROWS(ROWS), .COLS(COLS), .SI(SI), .SF(SF), .SP(SP), .SIW(SIW), .SFW(SFW), .SPW(SPW)
  ) u_array (
    .clk_i       (clk_i),
    .row_act_i   (row_act),
    .row_v_i     (row_v),
    .row_i_i     (row_i),
    .col_act_i   (col_act),
    .col_h_i     (col_h),
    .col_j_i     (col_j),
    .stride_i    (stride[7:0]),
    .p_i         (p[7:0]),
    .nv_i        (nv[15:0]),
    .fl_en_i     (in_filt),
    .fl_cv_i     (fl_cv),
    .fl_f_i      (f[SPW-1:0]),
    .fl_addr_i   (fl_addr),
    .fl_rows_i   (wb_rdata_i),
    .dl_en_i     (in_deliv),
    .dl_v_i      (v[7:0]),
    .dl_b_i      (b[7:0]),
    .dl_addr_i   (dl_a[SIW-1:0]),
    .dl_data_i   (dl_data),
    .mac_en_i    (in_mac),
    .mac_first_i (c == 16'd0 && x == 16'd0),
    .mac_f_i     (f[SPW-1:0]),
    .mac_fa_i    (mac_fa[SFW-1:0]),
    .mac_ia_i    (mac_ia[SIW-1:0]),
    .copy_i      (copy),
    .sum_rows_i  (dr_rows_q),
    .colsum_o    (colsum),
    .ev_fw_o     (ev_fw),
    .ev_iw_o     (ev_iw)
  );

  // ---------------------------------------------------------------- phase machine
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      nxt_valid_q <= 1'b0;
      nxt_q       <= '0;
      cur_q       <= '0;
      ph_q        <= IDLE;
      cur_rows_q  <= '0;
      {f_q, x_q, c_q, b_q, v_q, y_q} <= '0;
      ow_q   <= '0;
      base_q <= '0;
      colb_q <= '0;
    end else begin
      if (start) nxt_valid_q <= 1'b0;
      if (cmd_ready_o && cmd_valid_i) begin
        nxt_valid_q <= 1'b1;
        nxt_q       <= cmd_i;
      end
      if (start) begin
        cur_q  <= nxt_q;
        cur_rows_q <= row_act;  // acmd is nxt_q in this cycle
        ow_q   <= '0;
        base_q <= '0;
        colb_q <= fld(nxt_q, RS_IW0);
      end else if (deliv_start) begin
        ow_q   <= ow;
        base_q <= base;
        colb_q <= colb;
      end
      if (in_filt) begin
        // f fastest, then x, then c
        if ({16'd0, f} + 1 < p) begin
          f_q <= f + 16'd1; x_q <= x; c_q <= c;
        end else if ({16'd0, x} + 1 < kw) begin
          f_q <= '0; x_q <= x + 16'd1; c_q <= c;
        end else begin
          f_q <= '0; x_q <= '0; c_q <= c + 16'd1;
        end
        {b_q, v_q, y_q} <= '0;
        ph_q <= filt_last ? DELIV : FILT;
        if (filt_last) {f_q, x_q, c_q} <= '0;
      end else if (in_deliv) begin
        // b fastest, then v, then y, then c
        if ({16'd0, b} + 1 < nb) begin
          b_q <= b + 16'd1; v_q <= v; y_q <= y; c_q <= c;
        end else if ({16'd0, v} + 1 < fld(acmd, RS_CHUNKS)) begin
          b_q <= '0; v_q <= v + 16'd1; y_q <= y; c_q <= c;
        end else if ({16'd0, y} + 1 < ny) begin
          b_q <= '0; v_q <= '0; y_q <= y + 16'd1; c_q <= c;
        end else begin
          b_q <= '0; v_q <= '0; y_q <= '0; c_q <= c + 16'd1;
        end
        f_q  <= '0;
        x_q  <= '0;
        ph_q <= deliv_last ? MAC : DELIV;
        if (deliv_last) {b_q, v_q, y_q, c_q} <= '0;
      end else if (in_mac) begin
        // x fastest, then c, then f
        if ({16'd0, x} + 1 < kw) begin
          x_q <= x + 16'd1;
        end else if ({16'd0, c} + 1 < q) begin
          x_q <= '0; c_q <= c + 16'd1;
        end else begin
          x_q <= '0; c_q <= '0; f_q <= f + 16'd1;
        end
        ph_q <= mac_last ? WAIT : MAC;
        if (mac_last) {f_q, x_q, c_q} <= '0;
      end else if (pass_end) begin
        ph_q <= IDLE;
      end
    end
  end

  // ---------------------------------------------------------------- drain
  // Lane L of an accumulator entry is filter f = L mod p of set h = L / p: the column sum of
  // filter f in PE column h * e + j (the array adds the active rows).
  logic [31:0] dr_acc_q, dr_ow_q, dr_wout_q, dr_p_q, dr_sets_q;
  logic dr_first_q, dr_last_q, done_pend_q;
  logic [COLS*32-1:0] lane_sum;
  always_comb begin : sums
    logic [31:0] lf, lh, col, s;
    lf = '0;
    lh = '0;
    for (int l = 0; l < COLS; l++) begin
      col = lh * {16'd0, dr_e_q} + {16'd0, dr_j_q};
      s = lh < dr_sets_q ? colsum[(col * SP + lf) * 32 +: 32] : 32'd0;
      lane_sum[l*32 +: 32] = s;
      if (lf + 32'd1 == dr_p_q) begin
        lf = '0;
        lh = lh + 32'd1;
      end else begin
        lf = lf + 32'd1;
      end
    end
  end

  // verilator lint_off UNUSEDSIGNAL
  logic [31:0] cur_e;  // strips are at most COLS rows
  // verilator lint_on UNUSEDSIGNAL
  assign cur_e = fld(cur_q, RS_E);
  // verilator lint_off UNUSEDSIGNAL
  // Only the accumulator address bits of the 32-bit address are used.
  logic [31:0] dr_addr;
  // verilator lint_on UNUSEDSIGNAL
  assign dr_addr     = dr_acc_q + {16'd0, dr_j_q} * dr_wout_q + dr_ow_q;
  assign acc_raddr_o = dr_addr[CAW-1:0];
  assign acc_waddr_o = dr_addr[CAW-1:0];
  assign acc_we_o    = dr_act_q;
  for (genvar l = 0; l < COLS; l++) begin : g_acc
    assign acc_wdata_o[l*32 +: 32] = dr_first_q ? lane_sum[l*32 +: 32] :
                                     acc_rdata_i[l*32 +: 32] + lane_sum[l*32 +: 32];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dr_act_q    <= 1'b0;
      dr_j_q      <= '0;
      dr_e_q      <= '0;
      dr_rows_q   <= '0;
      dr_acc_q    <= '0;
      dr_ow_q     <= '0;
      dr_wout_q   <= '0;
      dr_p_q      <= '0;
      dr_sets_q   <= '0;
      dr_first_q  <= 1'b0;
      dr_last_q   <= 1'b0;
      done_pend_q <= 1'b0;
    end else begin
      done_pend_q <= dr_act_q && dr_j_q + 16'd1 == dr_e_q && dr_last_q;
      if (dr_act_q) begin
        dr_j_q <= dr_j_q + 16'd1;
        if (dr_j_q + 16'd1 == dr_e_q) dr_act_q <= 1'b0;
      end
      if (copy) begin
        dr_act_q   <= 1'b1;
        dr_j_q     <= '0;
        dr_e_q     <= cur_e[15:0];
        dr_rows_q  <= cur_rows_q;
        dr_acc_q   <= fld(cur_q, RS_ACC_ADDR);
        dr_ow_q    <= ow_q;
        dr_wout_q  <= fld(cur_q, RS_WOUT);
        dr_p_q     <= fld(cur_q, RS_P);
        dr_sets_q  <= fld(cur_q, RS_SETS);
        dr_first_q <= fld(cur_q, RS_FIRST) != 32'd0;
        dr_last_q  <= !more_cols;
      end
    end
  end

  // ---------------------------------------------------------------- events
  logic [63:0] macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q, siw_q, sfw_q;
  logic [31:0] mac_rows, mac_cols, dl_cnt;
  always_comb begin
    mac_rows = '0;
    mac_cols = '0;
    dl_cnt   = '0;
    for (int r = 0; r < ROWS; r++) begin
      if (row_act[r] && c0 + {24'd0, row_v[r*8 +: 8]} * q + {16'd0, c} < cin_g)
        mac_rows = mac_rows + 32'd1;
      dl_cnt = dl_cnt + {31'd0, dl_rd[r]};
    end
    for (int k = 0; k < COLS; k++)
      if (col_act[k] && {24'd0, col_h[k*8 +: 8]} * p + {16'd0, f} < nv) mac_cols = mac_cols + 32'd1;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {done_q, macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q, siw_q, sfw_q} <= '0;
    end else if (clear_i) begin
      {done_q, macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q, siw_q, sfw_q} <= '0;
    end else begin
      if (in_mac) macs_q <= macs_q + {32'd0, mac_rows * mac_cols};
      if (in_deliv) ifmap_rd_q <= ifmap_rd_q + {32'd0, dl_cnt};
      if (in_filt && f == 16'd0) weight_rd_q <= weight_rd_q + {32'd0, fl_rows_ok * nv};
      siw_q <= siw_q + {48'd0, ev_iw};
      sfw_q <= sfw_q + {48'd0, ev_fw};
      if (dr_act_q) begin
        acc_wr_q <= acc_wr_q + AccBytes;
        if (!dr_first_q) acc_rd_q <= acc_rd_q + AccBytes;
      end
      if (done_pend_q) done_q <= done_q + 32'd1;
    end
  end
  assign done_cnt_o          = done_q;
  assign ev_macs_o           = macs_q;
  assign ev_ifmap_rd_o       = ifmap_rd_q;
  assign ev_weight_rd_o      = weight_rd_q;
  assign ev_acc_rd_o         = acc_rd_q;
  assign ev_acc_wr_o         = acc_wr_q;
  assign ev_spad_ifmap_wr_o  = siw_q;
  assign ev_spad_filter_wr_o = sfw_q;
  assign ev_spad_rd_o        = macs_q;
endmodule
