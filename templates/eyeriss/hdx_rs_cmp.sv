// Compute engine of the row-stationary accelerator (docs/architecture.md, section 9).
//
// Runs PASS commands in order. A pass: filter load (p * q * kw cycles), then per output
// column: ifmap delivery (chunks * ceil(span / ROWS) cycles per value, ROWS diagonals per
// cycle) and p * q * kw MAC cycles; the column's psums are copied into the PEs' shadow
// registers once the drain has taken the previous column, and the drain adds them down
// each PE column into the accumulators, one output row (entry) per cycle: the entry is
// requested in the drain step, its sums (registered) follow a cycle later, and the
// accumulator writes it a cycle after that (hdx_acc). The cycle after a
// column's last MAC is the copy cycle; the next column's delivery, or the next pass's
// filter load, starts in it.
//
// Illegal commands (err_o, sticky until clear_i; the engine then takes no further command):
// a zero output width, channel count, stride, chunk or set count; p of 0 or above SP; kw of 0
// or above SI; e or N_VALID of 0 or above COLS; a row count of 0 or above ROWS.
module hdx_rs_cmp #(
  parameter ROWS  = 4,
  parameter COLS  = 4,
  parameter SI    = 12,
  parameter SF    = 224,
  parameter SP    = 24,
  parameter WORDS = 28,
  parameter IAW   = 10,
  parameter WAW   = 10,
  parameter CAW   = 8,
  // verilator lint_off UNUSEDPARAM
  // The accumulator size; the rs drain's addresses are checked by the schedule only.
  parameter ACC   = 256
  // verilator lint_on UNUSEDPARAM
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
  output logic                     err_o,
  // weight buffer (hdx_wbuf): per PE row one word (a weight row of COLS bytes), in the
  // cycle after wb_re_o
  output logic [ROWS-1:0]          wb_re_o,
  output logic [ROWS*WAW-1:0]      wb_raddr_o,
  input  logic [ROWS*COLS*8-1:0]   wb_rdata_i,
  // ifmap buffer: one byte per port, in the cycle after ib_re_o
  output logic [ROWS-1:0]          ib_re_o,
  output logic [ROWS*IAW-1:0]      ib_raddr_o,
  input  logic [ROWS*8-1:0]        ib_rdata_i,
  // accumulator read-modify-write (hdx_acc): request, then the addend one cycle later
  output logic                     acc_rq_valid_o,
  output logic                     acc_rq_first_o,
  output logic                     acc_rq_last_o,
  output logic [CAW-1:0]           acc_rq_addr_o,
  output logic [COLS*32-1:0]       acc_add_o,
  input  logic                     acc_wr_last_i,
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
  assign deps_ok   = cnt_ld_i >= nxt_q[RS_WAIT_LD*32 +: 32] &&
                     done_q >= nxt_q[RS_WAIT_CMP*32 +: 32] &&
                     cnt_st_i >= nxt_q[RS_WAIT_ST*32 +: 32];
  assign copy_ok   = !dr_act_q || dr_j_q + 16'd1 == dr_e_q;
  assign copy      = ph_q == WAIT && copy_ok;
  assign more_cols = ow_q + 32'd1 < cur_q[RS_WOUT*32 +: 32];
  assign pass_end  = copy && !more_cols;
  assign deliv_start = copy && more_cols;
  assign start     = (ph_q == IDLE || pass_end) && nxt_valid_q && deps_ok;
  logic bad_cmd, err_q;
  localparam [31:0] RowsN = ROWS, ColsN = COLS, SpN = SP, SiN = SI;
  assign bad_cmd = cmd_i[RS_WOUT*32 +: 32] == 32'd0 || cmd_i[RS_Q*32 +: 32] == 32'd0 ||
                   cmd_i[RS_CIN_G*32 +: 32] == 32'd0 || cmd_i[RS_STRIDE*32 +: 32] == 32'd0 ||
                   cmd_i[RS_CHUNKS*32 +: 32] == 32'd0 || cmd_i[RS_SETS*32 +: 32] == 32'd0 ||
                   cmd_i[RS_P*32 +: 32] == 32'd0 || cmd_i[RS_P*32 +: 32] > SpN ||
                   cmd_i[RS_KW*32 +: 32] == 32'd0 || cmd_i[RS_KW*32 +: 32] > SiN ||
                   cmd_i[RS_E*32 +: 32] == 32'd0 || cmd_i[RS_E*32 +: 32] > ColsN ||
                   cmd_i[RS_N_VALID*32 +: 32] == 32'd0 || cmd_i[RS_N_VALID*32 +: 32] > ColsN ||
                   cmd_i[RS_ROWS*32 +: 32] == 32'd0 || cmd_i[RS_ROWS*32 +: 32] > RowsN;
  assign cmd_ready_o = busy_i && !err_q && (!nxt_valid_q || start);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                                    err_q <= 1'b0;
    else if (clear_i)                               err_q <= 1'b0;
    else if (cmd_ready_o && cmd_valid_i && bad_cmd) err_q <= 1'b1;
  end
  assign err_o = err_q;
  assign acmd      = start ? nxt_q : cur_q;  // the command the array works on this cycle

  // Effective phase of this cycle.
  logic in_filt, in_deliv, in_mac;
  assign in_filt  = start || ph_q == FILT;
  assign in_deliv = deliv_start || ph_q == DELIV;
  assign in_mac   = ph_q == MAC;

  // ---------------------------------------------------------------- row and column roles
  // No multiplier or divider here: products and quotients of command fields come with the
  // command (words QKW and up, computed by the host), and everything else steps by addition.
  // Fields as wires: the role chains read them inside always_comb, where Icarus 11 cannot
  // select bits.
  logic [31:0] q, p, kw, stride, cin_g, c0, nv, wc, qkw, wx, smod, cl, scl;
  logic [31:0] wbase, chunks, rwcl, nrows, wchunk, wrow, sets, ne;
  // verilator lint_off UNUSEDSIGNAL
  // j * stride / ROWS and its remainder are small; their low byte is used.
  logic [31:0] sq, sr;
  // verilator lint_on UNUSEDSIGNAL
  assign sq     = acmd[RS_SQ*32 +: 32];
  assign sr     = acmd[RS_SR*32 +: 32];
  // Narrow copies for the role chains.
  logic [7:0]  sq8, sr8;
  logic [15:0] p16;
  assign sq8 = sq[7:0];
  assign sr8 = sr[7:0];
  assign p16 = p[15:0];
  localparam [7:0] Rows8 = RowsI[7:0];
  assign q      = acmd[RS_Q*32 +: 32];
  assign p      = acmd[RS_P*32 +: 32];
  assign kw     = acmd[RS_KW*32 +: 32];
  assign stride = acmd[RS_STRIDE*32 +: 32];
  assign cin_g  = acmd[RS_CIN_G*32 +: 32];
  assign c0     = acmd[RS_C0*32 +: 32];
  assign nv     = acmd[RS_N_VALID*32 +: 32];
  assign wc     = acmd[RS_WC*32 +: 32];
  assign qkw    = acmd[RS_QKW*32 +: 32];
  assign wx     = acmd[RS_WX*32 +: 32];
  assign smod   = acmd[RS_SMOD*32 +: 32];
  assign cl     = acmd[RS_CL*32 +: 32];
  assign scl    = acmd[RS_SCL*32 +: 32];
  assign wbase  = acmd[RS_WBASE*32 +: 32];
  assign chunks = acmd[RS_CHUNKS*32 +: 32];
  assign rwcl   = acmd[RS_RWCL*32 +: 32];
  assign nrows  = acmd[RS_ROWS*32 +: 32];
  assign wchunk = acmd[RS_WCHUNK*32 +: 32];
  assign wrow   = acmd[RS_WROW*32 +: 32];
  assign sets   = acmd[RS_SETS*32 +: 32];
  assign ne     = acmd[RS_E*32 +: 32];

  logic [ROWS-1:0]    row_act;
  logic [ROWS*8-1:0]  row_v, row_i;
  logic [ROWS*32-1:0] row_ch, row_wb, port_rw;
  logic [COLS-1:0]    col_act;
  logic [COLS*16-1:0] col_hp;
  logic [COLS*8-1:0]  col_bq, col_br;
  // PE row r is filter row r mod rows of chunk r / rows; rows of chunks < CHUNKS work. Per
  // row: its first channel (c0 + v * q) and weight row base (WBASE + v * WCHUNK + i * WROW).
  // Per column: h * p, and j * stride as ROWS * bq + br (br < ROWS). Per ifmap port r:
  // r * RWCL.
  always_comb begin : roles
    logic [7:0]  rv, ri, ch, cj, bq, br;
    logic [31:0] chv, wbv, wbi, prw;
    logic [15:0] hp;
    rv  = 8'd0;
    ri  = 8'd0;
    chv = c0;
    wbv = wbase;
    wbi = '0;
    prw = '0;
    for (int r = 0; r < ROWS; r++) begin
      row_v[r*8 +: 8]    = rv;
      row_i[r*8 +: 8]    = ri;
      row_ch[r*32 +: 32] = chv;
      row_wb[r*32 +: 32] = wbv + wbi;
      port_rw[r*32 +: 32] = prw;
      row_act[r] = {24'd0, rv} < chunks;
      prw = prw + rwcl;
      if ({24'd0, ri} + 32'd1 == nrows) begin
        ri  = 8'd0;
        rv  = rv + 8'd1;
        chv = chv + q;
        wbv = wbv + wchunk;
        wbi = '0;
      end else begin
        ri  = ri + 8'd1;
        wbi = wbi + wrow;
      end
    end
    ch = 8'd0;
    cj = 8'd0;
    hp = 16'd0;
    bq = 8'd0;
    br = 8'd0;
    for (int k = 0; k < COLS; k++) begin
      col_hp[k*16 +: 16] = hp;
      col_bq[k*8 +: 8]   = bq;
      col_br[k*8 +: 8]   = br;
      col_act[k] = {24'd0, ch} < sets;
      if ({24'd0, cj} + 32'd1 == ne) begin
        cj = 8'd0;
        ch = ch + 8'd1;
        hp = hp + p16;
        bq = 8'd0;
        br = 8'd0;
      end else begin
        cj = cj + 8'd1;
        bq = bq + sq8;
        br = br + sr8;
        if (br >= Rows8) begin
          br = br - Rows8;
          bq = bq + 8'd1;
        end
      end
    end
  end

  // ---------------------------------------------------------------- counters of the phases
  // Filter load: f fastest, then tap x, then channel c. Delivery: batch b fastest, then
  // chunk v, then column y, then channel c. MACs: tap x fastest, then channel c, then f.
  // Beside each counter, its scaled values: f * QKW, x * WX, c * kw, c * WC, b * ROWS,
  // b * BSTEP, v * q, y * CL, updated whenever the counter is.
  logic [15:0] f_q, x_q, c_q, b_q, v_q, y_q;
  logic [15:0] f, x, c, b, v, y;
  logic [31:0] fq_q, xw_q, ck_q, ct_q, br_q, bs_q, vq_q, yc_q;
  logic [31:0] fq, xw, ck, ct, bro, bs, vq, yc;
  logic fresh;  // first cycle of a phase: counters read as 0
  assign fresh = start || deliv_start;
  assign f   = fresh ? 16'd0 : f_q;
  assign x   = fresh ? 16'd0 : x_q;
  assign c   = fresh ? 16'd0 : c_q;
  assign b   = fresh ? 16'd0 : b_q;
  assign v   = fresh ? 16'd0 : v_q;
  assign y   = fresh ? 16'd0 : y_q;
  assign fq  = fresh ? 32'd0 : fq_q;
  assign xw  = fresh ? 32'd0 : xw_q;
  assign ck  = fresh ? 32'd0 : ck_q;
  assign ct  = fresh ? 32'd0 : ct_q;
  assign bro = fresh ? 32'd0 : br_q;
  assign bs  = fresh ? 32'd0 : bs_q;
  assign vq  = fresh ? 32'd0 : vq_q;
  assign yc  = fresh ? 32'd0 : yc_q;

  // Column state: ow, the ring base (ow * stride) mod kw, the input column of tap 0 and that
  // column times CL.
  logic [31:0] base_q, colb_q, colc_q, ow, base, colb, colc, nb, ny, s1, base_sum;
  assign base_sum = base_q + smod;
  assign ow   = deliv_start ? ow_q + 32'd1 : ow_q;
  assign base = deliv_start ? (base_sum >= kw ? base_sum - kw : base_sum) : base_q;
  assign colb = deliv_start ? colb_q + stride : colb_q;
  assign colc = deliv_start ? colc_q + scl : colc_q;
  assign nb   = acmd[RS_NB*32 +: 32];                           // batches per chunk
  assign s1   = stride < kw ? stride : kw;                  // new columns per later column
  assign ny   = ow == 32'd0 ? kw : s1;

  logic filt_last, deliv_last, mac_last;
  assign filt_last  = {16'd0, f} + 1 == p && {16'd0, x} + 1 == kw && {16'd0, c} + 1 == q;
  assign deliv_last = {16'd0, b} + 1 == nb && {16'd0, v} + 1 == chunks &&
                      {16'd0, y} + 1 == ny && {16'd0, c} + 1 == q;
  assign mac_last   = {16'd0, x} + 1 == kw && {16'd0, c} + 1 == q && {16'd0, f} + 1 == p;

  // Filter scratchpad entry (f * q + c) * kw + x, in the filter load and in the MACs.
  // verilator lint_off UNUSEDSIGNAL
  // Scratchpad addresses are computed in 32 bits; the low SFW / SIW bits index the entry.
  logic [31:0] fa;
  // verilator lint_on UNUSEDSIGNAL
  assign fa = fq + ck + {16'd0, x};

  // ---------------------------------------------------------------- filter load
  // A PE row reads its weight row at f = 0 (the word holds for the p cycles of f) and its
  // PEs write it into their filter scratchpads a cycle later, when the word arrives: the
  // filter load's control is registered alongside.
  logic [ROWS-1:0] fl_cv, fl_cv_q;
  logic            fl_en_q;
  logic [SPW-1:0]  fl_f_q;
  logic [SFW-1:0]  fl_addr_q;
  for (genvar r = 0; r < ROWS; r++) begin : g_wrow
    // verilator lint_off UNUSEDSIGNAL
    // Only the weight buffer's address bits of the 32-bit address are used.
    logic [31:0] addr;
    // verilator lint_on UNUSEDSIGNAL
    assign fl_cv[r] = in_filt && row_act[r] && row_ch[r*32 +: 32] + {16'd0, c} < cin_g;
    // WBASE + v * WCHUNK + i * WROW + x * WX + c * WC (the slot's layout, schedule_rs.h)
    assign addr = row_wb[r*32 +: 32] + xw + ct;
    assign wb_raddr_o[r*WAW +: WAW] = addr[WAW-1:0];
    assign wb_re_o[r] = fl_cv[r] && f == 16'd0;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {fl_en_q, fl_cv_q, fl_f_q, fl_addr_q} <= '0;
    end else begin
      fl_en_q   <= in_filt;
      fl_cv_q   <= fl_cv;
      fl_f_q    <= f[SPW-1:0];
      fl_addr_q <= fa[SFW-1:0];
    end
  end

  // ---------------------------------------------------------------- ifmap delivery
  logic [ROWS*8-1:0] dl_data;
  logic [ROWS-1:0]   dl_rd;
  // verilator lint_off UNUSEDSIGNAL
  // Scratchpad addresses are computed in 32 bits; the low SIW bits index the entry.
  logic [31:0]       dl_slot_raw, dl_slot, dl_a, ycol, ycl, dl_ch, dl_addr0;
  // verilator lint_on UNUSEDSIGNAL
  assign ycol        = ow == 32'd0 ? {16'd0, y} : kw - s1 + {16'd0, y};
  assign ycl         = ow == 32'd0 ? yc : acmd[RS_KWS1CL*32 +: 32] + yc;   // ycol * CL
  assign dl_slot_raw = base + ycol;
  assign dl_slot     = dl_slot_raw >= kw ? dl_slot_raw - kw : dl_slot_raw;
  assign dl_a        = ck + dl_slot;
  assign dl_ch       = c0 + vq + {16'd0, c};
  // IBASE + ((row - IR0) * IN_W + col) * CL + CG0 + ch, with row = IH0 + b * ROWS + port,
  // col = colb + ycol: IADDR0 + b * BSTEP + port * RWCL + (colb + ycol) * CL + v * q + c.
  assign dl_addr0    = acmd[RS_IADDR0*32 +: 32] + bs + colc + ycl + vq + {16'd0, c};
  for (genvar r = 0; r < ROWS; r++) begin : g_port
    localparam [31:0] Port = r;
    // verilator lint_off UNUSEDSIGNAL
    // Only the ifmap buffer's address bits of the 32-bit address are used.
    logic [31:0] d, row, col, addr;
    // verilator lint_on UNUSEDSIGNAL
    logic ok;
    assign d    = bro + Port;
    assign row  = $signed(acmd[RS_IH0*32 +: 32]) + d;
    assign col  = colb + ycol;
    assign ok   = in_deliv && d < acmd[RS_SPAN*32 +: 32] && dl_ch < cin_g && $signed(row) >= 0 &&
                  $signed(row) < $signed(acmd[RS_IN_H*32 +: 32]) && $signed(col) >= 0 &&
                  $signed(col) < $signed(acmd[RS_IN_W*32 +: 32]);
    assign addr = dl_addr0 + port_rw[r*32 +: 32];
    assign ib_raddr_o[r*IAW +: IAW] = addr[IAW-1:0];
    assign dl_rd[r] = ok;
  end
  assign ib_re_o = dl_rd;

  // The values arrive a cycle after their reads (the buffer's synchronous read), and are
  // written into the PEs' windows then: the delivery's control is registered alongside.
  logic            dl_en_q;
  logic [ROWS-1:0] dl_rd_q;
  logic [7:0]      dl_v_q, dl_b_q;
  logic [SIW-1:0]  dl_a_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {dl_en_q, dl_rd_q, dl_v_q, dl_b_q, dl_a_q} <= '0;
    end else begin
      dl_en_q <= in_deliv;
      dl_rd_q <= dl_rd;
      dl_v_q  <= v[7:0];
      dl_b_q  <= b[7:0];
      dl_a_q  <= dl_a[SIW-1:0];
    end
  end
  for (genvar r = 0; r < ROWS; r++) begin : g_dl
    assign dl_data[r*8 +: 8] = dl_rd_q[r] ? ib_rdata_i[r*8 +: 8] : 8'd0;
  end

  // ---------------------------------------------------------------- MACs
  // verilator lint_off UNUSEDSIGNAL
  // Scratchpad addresses are computed in 32 bits; the low SFW / SIW bits index the entry.
  logic [31:0] mac_slot_raw, mac_ia;
  // verilator lint_on UNUSEDSIGNAL
  assign mac_slot_raw = base + {16'd0, x};
  assign mac_ia       = ck + (mac_slot_raw >= kw ? mac_slot_raw - kw : mac_slot_raw);

  // ---------------------------------------------------------------- array
  logic [COLS*SP*32-1:0] colsum;
  logic [ROWS-1:0] dr_rows_q, cur_rows_q;  // working rows: of the pass drained, of cur_q
  logic [15:0] ev_fw, ev_iw;
  hdx_rs_array #(
    .ROWS(ROWS), .COLS(COLS), .SI(SI), .SF(SF), .SP(SP), .SIW(SIW), .SFW(SFW), .SPW(SPW)
  ) u_array (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .row_act_i   (row_act),
    .row_v_i     (row_v),
    .row_i_i     (row_i),
    .col_act_i   (col_act),
    .col_hp_i    (col_hp),
    .col_bq_i    (col_bq),
    .col_br_i    (col_br),
    .nv_i        (nv[15:0]),
    .fl_en_i     (fl_en_q),
    .fl_cv_i     (fl_cv_q),
    .fl_f_i      (fl_f_q),
    .fl_addr_i   (fl_addr_q),
    .fl_rows_i   (wb_rdata_i),
    .dl_en_i     (dl_en_q),
    .dl_v_i      (dl_v_q),
    .dl_b_i      (dl_b_q),
    .dl_addr_i   (dl_a_q),
    .dl_data_i   (dl_data),
    .mac_en_i    (in_mac),
    .mac_first_i (c == 16'd0 && x == 16'd0),
    .mac_f_i     (f[SPW-1:0]),
    .mac_fa_i    (fa[SFW-1:0]),
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
      {fq_q, xw_q, ck_q, ct_q, br_q, bs_q, vq_q, yc_q} <= '0;
      ow_q   <= '0;
      base_q <= '0;
      colb_q <= '0;
      colc_q <= '0;
    end else begin
      if (start) nxt_valid_q <= 1'b0;
      if (cmd_ready_o && cmd_valid_i && !bad_cmd) begin
        nxt_valid_q <= 1'b1;
        nxt_q       <= cmd_i;
      end
      if (start) begin
        cur_q  <= nxt_q;
        cur_rows_q <= row_act;  // acmd is nxt_q in this cycle
        ow_q   <= '0;
        base_q <= '0;
        colb_q <= nxt_q[RS_IW0*32 +: 32];
        colc_q <= nxt_q[RS_IW0CL*32 +: 32];
      end else if (deliv_start) begin
        ow_q   <= ow;
        base_q <= base;
        colb_q <= colb;
        colc_q <= colc;
      end
      if (in_filt) begin
        // f fastest, then x, then c
        if ({16'd0, f} + 1 < p) begin
          f_q <= f + 16'd1; x_q <= x; c_q <= c;
          fq_q <= fq + qkw; xw_q <= xw; ck_q <= ck; ct_q <= ct;
        end else if ({16'd0, x} + 1 < kw) begin
          f_q <= '0; x_q <= x + 16'd1; c_q <= c;
          fq_q <= '0; xw_q <= xw + wx; ck_q <= ck; ct_q <= ct;
        end else begin
          f_q <= '0; x_q <= '0; c_q <= c + 16'd1;
          fq_q <= '0; xw_q <= '0; ck_q <= ck + kw; ct_q <= ct + wc;
        end
        {b_q, v_q, y_q} <= '0;
        {br_q, bs_q, vq_q, yc_q} <= '0;
        ph_q <= filt_last ? DELIV : FILT;
        if (filt_last) begin
          {f_q, x_q, c_q} <= '0;
          {fq_q, xw_q, ck_q, ct_q} <= '0;
        end
      end else if (in_deliv) begin
        // b fastest, then v, then y, then c
        if ({16'd0, b} + 1 < nb) begin
          b_q <= b + 16'd1; v_q <= v; y_q <= y; c_q <= c;
          br_q <= bro + Rows32; bs_q <= bs + acmd[RS_BSTEP*32 +: 32]; vq_q <= vq; yc_q <= yc;
          ck_q <= ck; ct_q <= ct;
        end else if ({16'd0, v} + 1 < chunks) begin
          b_q <= '0; v_q <= v + 16'd1; y_q <= y; c_q <= c;
          br_q <= '0; bs_q <= '0; vq_q <= vq + q; yc_q <= yc;
          ck_q <= ck; ct_q <= ct;
        end else if ({16'd0, y} + 1 < ny) begin
          b_q <= '0; v_q <= '0; y_q <= y + 16'd1; c_q <= c;
          br_q <= '0; bs_q <= '0; vq_q <= '0; yc_q <= yc + cl;
          ck_q <= ck; ct_q <= ct;
        end else begin
          b_q <= '0; v_q <= '0; y_q <= '0; c_q <= c + 16'd1;
          br_q <= '0; bs_q <= '0; vq_q <= '0; yc_q <= '0;
          ck_q <= ck + kw; ct_q <= ct + wc;
        end
        f_q  <= '0;
        x_q  <= '0;
        fq_q <= '0;
        xw_q <= '0;
        ph_q <= deliv_last ? MAC : DELIV;
        if (deliv_last) begin
          {b_q, v_q, y_q, c_q} <= '0;
          {br_q, bs_q, vq_q, yc_q, ck_q, ct_q} <= '0;
        end
      end else if (in_mac) begin
        // x fastest, then c, then f
        if ({16'd0, x} + 1 < kw) begin
          x_q <= x + 16'd1;
          xw_q <= xw + wx;
        end else if ({16'd0, c} + 1 < q) begin
          x_q <= '0; c_q <= c + 16'd1;
          xw_q <= '0; ck_q <= ck + kw; ct_q <= ct + wc;
        end else begin
          x_q <= '0; c_q <= '0; f_q <= f + 16'd1;
          xw_q <= '0; ck_q <= '0; ct_q <= '0; fq_q <= fq + qkw;
        end
        ph_q <= mac_last ? WAIT : MAC;
        if (mac_last) begin
          {f_q, x_q, c_q} <= '0;
          {fq_q, xw_q, ck_q, ct_q} <= '0;
        end
      end else if (pass_end) begin
        ph_q <= IDLE;
      end
    end
  end

  // ---------------------------------------------------------------- drain
  // Lane L of an accumulator entry is filter f = L mod p of set h = L / p: the column sum of
  // filter f in PE column h * e + j (the array adds the active rows).
  logic [31:0] dr_addr_q, dr_wout_q, dr_p_q, dr_sets_q;
  logic dr_first_q, dr_last_q;
  logic [COLS*32-1:0] lane_sum, lane_sum_q;
  always_comb begin : sums
    logic [31:0] lf, lh, col, s;
    logic [SP*32-1:0] cs;
    lf  = '0;
    lh  = '0;
    col = {16'd0, dr_j_q};  // lh * e + j, stepped by e
    for (int l = 0; l < COLS; l++) begin
      cs = '0;
      for (int k = 0; k < COLS; k++)
        if (col == k) cs = colsum[k*SP*32 +: SP*32];
      s = lh < dr_sets_q ? cs[lf*32 +: 32] : 32'd0;
      lane_sum[l*32 +: 32] = s;
      if (lf + 32'd1 == dr_p_q) begin
        lf  = '0;
        lh  = lh + 32'd1;
        col = col + {16'd0, dr_e_q};
      end else begin
        lf = lf + 32'd1;
      end
    end
  end

  // verilator lint_off UNUSEDSIGNAL
  logic [31:0] cur_e;  // strips are at most COLS rows
  // verilator lint_on UNUSEDSIGNAL
  assign cur_e = cur_q[RS_E*32 +: 32];
  // Drain step j requests entry ACC_ADDR + j * WOUT + ow (stepped by WOUT); its lane sums
  // are registered and added in the next cycle.
  assign acc_rq_valid_o = dr_act_q;
  assign acc_rq_first_o = dr_first_q;
  assign acc_rq_last_o  = dr_j_q + 16'd1 == dr_e_q && dr_last_q;
  assign acc_rq_addr_o  = dr_addr_q[CAW-1:0];
  assign acc_add_o      = lane_sum_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dr_act_q    <= 1'b0;
      dr_j_q      <= '0;
      dr_e_q      <= '0;
      dr_rows_q   <= '0;
      dr_addr_q   <= '0;
      dr_wout_q   <= '0;
      dr_p_q      <= '0;
      dr_sets_q   <= '0;
      dr_first_q  <= 1'b0;
      dr_last_q   <= 1'b0;
      lane_sum_q  <= '0;
    end else begin
      lane_sum_q <= lane_sum;
      if (dr_act_q) begin
        dr_j_q    <= dr_j_q + 16'd1;
        dr_addr_q <= dr_addr_q + dr_wout_q;
        if (dr_j_q + 16'd1 == dr_e_q) dr_act_q <= 1'b0;
      end
      if (copy) begin
        dr_act_q   <= 1'b1;
        dr_j_q     <= '0;
        dr_e_q     <= cur_e[15:0];
        dr_rows_q  <= cur_rows_q;
        dr_addr_q  <= cur_q[RS_ACC_ADDR*32 +: 32] + ow_q;
        dr_wout_q  <= cur_q[RS_WOUT*32 +: 32];
        dr_p_q     <= cur_q[RS_P*32 +: 32];
        dr_sets_q  <= cur_q[RS_SETS*32 +: 32];
        dr_first_q <= cur_q[RS_FIRST*32 +: 32] != 32'd0;
        dr_last_q  <= !more_cols;
      end
    end
  end

  // ---------------------------------------------------------------- events
  logic [63:0] macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q, siw_q, sfw_q;
  // MACs this cycle: working columns, once per working row; weight bytes read: N_VALID per
  // row whose channel is valid (sums, no multiplier).
  logic [31:0] mac_cols, macs, dl_cnt, w_rd;
  always_comb begin
    mac_cols = '0;
    macs     = '0;
    dl_cnt   = '0;
    w_rd     = '0;
    for (int k = 0; k < COLS; k++)
      if (col_act[k] && {16'd0, col_hp[k*16 +: 16]} + {16'd0, f} < nv) mac_cols = mac_cols + 32'd1;
    for (int r = 0; r < ROWS; r++) begin
      if (row_act[r] && row_ch[r*32 +: 32] + {16'd0, c} < cin_g) macs = macs + mac_cols;
      if (fl_cv[r]) w_rd = w_rd + nv;
      dl_cnt = dl_cnt + {31'd0, dl_rd[r]};
    end
  end
  // The array's scratchpad-write counts come at the end of the roles' and write enables' path,
  // so they are registered before they are added: the two counters run a cycle late, which the
  // counts read after the job's last write never see.
  logic [15:0] ev_iw_q, ev_fw_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {done_q, macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q, siw_q, sfw_q} <= '0;
      {ev_iw_q, ev_fw_q} <= '0;
    end else if (clear_i) begin
      {done_q, macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q, siw_q, sfw_q} <= '0;
      {ev_iw_q, ev_fw_q} <= '0;
    end else begin
      if (in_mac) macs_q <= macs_q + {32'd0, macs};
      if (in_deliv) ifmap_rd_q <= ifmap_rd_q + {32'd0, dl_cnt};
      if (in_filt && f == 16'd0) weight_rd_q <= weight_rd_q + {32'd0, w_rd};
      ev_iw_q <= ev_iw;
      ev_fw_q <= ev_fw;
      siw_q   <= siw_q + {48'd0, ev_iw_q};
      sfw_q   <= sfw_q + {48'd0, ev_fw_q};
      if (dr_act_q) begin
        acc_wr_q <= acc_wr_q + AccBytes;
        if (!dr_first_q) acc_rd_q <= acc_rd_q + AccBytes;
      end
      if (acc_wr_last_i) done_q <= done_q + 32'd1;
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
