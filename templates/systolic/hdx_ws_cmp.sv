// Compute engine of the weight-stationary accelerator (docs/architecture.md).
//
// Setup unit: for ROWS cycles, steps the reduction index of lane r (kh, kw, c and its
//   buffer offset) and reads weight row r from the weight buffer; the row is written into
//   the idle weight bank of the array in the next cycle (the buffer's synchronous read).
// Stream unit: issues one output pixel per cycle: every lane reads its input byte from the
//   ifmap buffer (zero outside the image; the byte arrives in the next cycle, the issue
//   stage), the vector is skewed into the array, and the
//   column sums, deskewed, are added into the accumulator entry of that pixel: the entry is
//   requested ROWS + COLS - 1 cycles after issue, the sums follow a cycle later, and the
//   accumulator writes the entry a cycle after that (hdx_acc).
// The setup of command j overlaps the stream of command j-1; it starts once its waits are
// met and the bank it writes has been left by command j-2's last pixel (COLS-1 cycles after
// that pixel's issue ended).
//
// Illegal commands (err_o, sticky until clear_i; the engine then takes no further command):
// zero pixels or output width, K_VALID of 0 or above ROWS, N_VALID of 0 or above COLS, a
// channel count, kernel width or stride below 1, or accumulator entries past ACC.
module hdx_ws_cmp #(
  parameter ROWS  = 4,
  parameter COLS  = 4,
  parameter WORDS = 28,
  parameter IAW   = 10,
  parameter WAW   = 10,
  parameter CAW   = 8,
  parameter ACC   = 256
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                busy_i,
  input  logic                clear_i,
  input  logic                cmd_valid_i,
  output logic                cmd_ready_o,
  input  logic [WORDS*32-1:0] cmd_i,
  input  logic [31:0]         cnt_ld_i,
  input  logic [31:0]         cnt_st_i,
  output logic [31:0]         done_cnt_o,
  output logic                err_o,
  // weight buffer read (one row of COLS bytes, in the cycle after wb_re_o)
  output logic                wb_re_o,
  output logic [WAW-1:0]      wb_raddr_o,
  input  logic [COLS*8-1:0]   wb_rdata_i,
  // ifmap buffer reads (one byte per lane, in the cycle after ib_re_o)
  output logic [ROWS-1:0]     ib_re_o,
  output logic [ROWS*IAW-1:0] ib_raddr_o,
  input  logic [ROWS*8-1:0]   ib_rdata_i,
  // accumulator read-modify-write (hdx_acc): request, then the addend one cycle later
  output logic                acc_rq_valid_o,
  output logic                acc_rq_first_o,
  output logic                acc_rq_last_o,
  output logic [CAW-1:0]      acc_rq_addr_o,
  output logic [COLS*32-1:0]  acc_add_o,
  input  logic                acc_wr_last_i,
  // events
  output logic [63:0]         ev_macs_o,
  output logic [63:0]         ev_ifmap_rd_o,
  output logic [63:0]         ev_weight_rd_o,
  output logic [63:0]         ev_acc_rd_o,
  output logic [63:0]         ev_acc_wr_o
);
  `include "hdx_cmp_cmd.vh"

  localparam RW = $clog2(ROWS);         // setup row counter
  localparam integer LastRowI = ROWS - 1;
  localparam integer HoldI    = COLS - 1;
  localparam D  = ROWS + COLS;          // issue to the sums leaving the deskew
  localparam CW = 3 + CAW;              // {valid, first, last, acc address}
  localparam [RW-1:0] LastRow  = LastRowI[RW-1:0];
  localparam [7:0]    Hold     = HoldI[7:0];
  localparam integer AccBytesI = 4 * COLS;
  localparam integer RowBytesI = 1 * COLS;
  localparam [63:0]   AccBytes = {32'd0, AccBytesI[31:0]};
  localparam [63:0]   RowBytes = {32'd0, RowBytesI[31:0]};

  // ---------------------------------------------------------------- setup unit
  // verilator lint_off UNUSEDSIGNAL
  // Command words are 32 bits wide; not every bit of every field is used.
  logic [WORDS*32-1:0] su_cmd_q, str_cmd_q;
  // verilator lint_on UNUSEDSIGNAL
  logic su_valid_q, su_run_q, su_done_q, su_bank_q, next_bank_q;
  logic [RW-1:0] su_r_q;
  logic signed [31:0] cur_kh_q, cur_kw_q, cur_c_q, cur_off_q;
  logic signed [31:0] lane_kh_q [0:2*ROWS-1];
  logic signed [31:0] lane_kw_q [0:2*ROWS-1];
  logic signed [31:0] lane_off_q [0:2*ROWS-1];
  logic [2*ROWS-1:0]  lane_ok_q;
  logic [7:0] hold0_q, hold1_q;
  logic [31:0] done_q;

  logic str_valid_q, str_bank_q, str_last;
  logic [31:0] str_pix_q, str_last_pix_q;  // the stream's last pixel, M_COUNT - 1

  logic deps_ok, su_start, su_active, su_last_row, xfer;
  logic [RW-1:0] su_row;
  logic signed [31:0] cin_g, kw_size;
  assign cin_g   = $signed(su_cmd_q[CMP_CIN_G*32 +: 32]);
  assign kw_size = $signed(su_cmd_q[CMP_KW_SIZE*32 +: 32]);
  assign deps_ok = cnt_ld_i >= su_cmd_q[CMP_WAIT_LD*32 +: 32] &&
                   done_q   >= su_cmd_q[CMP_WAIT_CMP*32 +: 32] &&
                   cnt_st_i >= su_cmd_q[CMP_WAIT_ST*32 +: 32];
  assign su_start    = su_valid_q && !su_run_q && !su_done_q && deps_ok &&
                       (su_bank_q ? hold1_q : hold0_q) == 8'd0;
  assign su_active   = su_run_q || su_start;
  assign su_row      = su_run_q ? su_r_q : '0;
  assign su_last_row = su_active && su_row == LastRow;
  assign xfer        = su_valid_q && (su_done_q || su_last_row) && (!str_valid_q || str_last);
  logic bad_cmd, err_q;
  localparam [32:0] AccN = ACC;
  localparam [31:0] RowsN = ROWS, ColsN = COLS;
  assign bad_cmd = cmd_i[CMP_M_COUNT*32 +: 32] == 32'd0 || cmd_i[CMP_WOUT*32 +: 32] == 32'd0 ||
                   cmd_i[CMP_K_VALID*32 +: 32] == 32'd0 || cmd_i[CMP_K_VALID*32 +: 32] > RowsN ||
                   cmd_i[CMP_N_VALID*32 +: 32] == 32'd0 || cmd_i[CMP_N_VALID*32 +: 32] > ColsN ||
                   $signed(cmd_i[CMP_CIN_G*32 +: 32]) < 1 ||
                   $signed(cmd_i[CMP_KW_SIZE*32 +: 32]) < 1 ||
                   $signed(cmd_i[CMP_STRIDE*32 +: 32]) < 1 ||
                   {1'b0, cmd_i[CMP_ACC_ADDR*32 +: 32]} +
                   {1'b0, cmd_i[CMP_M_COUNT*32 +: 32]} > AccN;
  assign cmd_ready_o = busy_i && !err_q && (!su_valid_q || xfer);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                                    err_q <= 1'b0;
    else if (clear_i)                               err_q <= 1'b0;
    else if (cmd_ready_o && cmd_valid_i && bad_cmd) err_q <= 1'b1;
  end
  assign err_o = err_q;

  // Weight preload: row su_row of the fold, only rows holding valid reduction indices.
  logic row_ok;
  logic [31:0] su_row32;
  assign su_row32   = {{(32-RW){1'b0}}, su_row};
  assign row_ok     = su_active && su_row32 < su_cmd_q[CMP_K_VALID*32 +: 32];
  localparam integer ColsI = COLS;
  localparam [WAW-1:0] ColsW = ColsI[WAW-1:0];
  assign wb_re_o    = row_ok;
  assign wb_raddr_o = su_cmd_q[CMP_W_ADDR*32 +: WAW] + {{(WAW-RW){1'b0}}, su_row} * ColsW;

  // Every row of the idle bank is written, a cycle after its read; rows at or beyond K_VALID
  // and columns at or beyond N_VALID get 0, so no stale or unknown weight meets an
  // activation. The row's enables (one per bank) and column mask are registered with the read.
  logic [ROWS-1:0]   wl_en, wl_en0_q, wl_en1_q;
  logic [COLS-1:0]   wl_ok, wl_ok_q;
  logic [COLS*8-1:0] wl_data;
  for (genvar r = 0; r < ROWS; r++) begin : g_wl
    localparam [RW-1:0] Row = r;
    assign wl_en[r] = su_active && su_row == Row;
  end
  for (genvar c = 0; c < COLS; c++) begin : g_wd
    localparam [31:0] Col = c;
    assign wl_ok[c] = row_ok && Col < su_cmd_q[CMP_N_VALID*32 +: 32];
    assign wl_data[c*8 +: 8] = wl_ok_q[c] ? wb_rdata_i[c*8 +: 8] : 8'd0;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wl_en0_q <= '0;
      wl_en1_q <= '0;
      wl_ok_q  <= '0;
    end else begin
      wl_en0_q <= su_bank_q ? '0 : wl_en;
      wl_en1_q <= su_bank_q ? wl_en : '0;
      wl_ok_q  <= wl_ok;
    end
  end

  localparam integer RowsI = ROWS;
  localparam [RW:0] RowsX = RowsI[RW:0];
  logic [RW:0] lidx;  // lane register index: bank * ROWS + row
  assign lidx = su_bank_q ? RowsX + {1'b0, su_row} : {1'b0, su_row};
  always_ff @(posedge clk_i) begin
    if (su_active) begin
      lane_kh_q[lidx]  <= cur_kh_q;
      lane_kw_q[lidx]  <= cur_kw_q;
      lane_off_q[lidx] <= cur_off_q;
      lane_ok_q[lidx]  <= row_ok;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      su_valid_q  <= 1'b0;
      su_run_q    <= 1'b0;
      su_done_q   <= 1'b0;
      su_bank_q   <= 1'b0;
      next_bank_q <= 1'b0;
      su_r_q      <= '0;
      su_cmd_q    <= '0;
      cur_kh_q    <= '0;
      cur_kw_q    <= '0;
      cur_c_q     <= '0;
      cur_off_q   <= '0;
      hold0_q     <= '0;
      hold1_q     <= '0;
    end else begin
      if (str_last && !str_bank_q) hold0_q <= Hold;
      else if (hold0_q != 8'd0)    hold0_q <= hold0_q - 8'd1;
      if (str_last && str_bank_q)  hold1_q <= Hold;
      else if (hold1_q != 8'd0)    hold1_q <= hold1_q - 8'd1;
      if (su_active) begin
        if (cur_c_q + 1 < cin_g) begin
          cur_c_q   <= cur_c_q + 1;
          cur_off_q <= cur_off_q + 1;
        end else if (cur_kw_q + 1 < kw_size) begin
          cur_c_q   <= 0;
          cur_kw_q  <= cur_kw_q + 1;
          cur_off_q <= cur_off_q + $signed(su_cmd_q[CMP_D_KW*32 +: 32]);
        end else begin
          cur_c_q   <= 0;
          cur_kw_q  <= 0;
          cur_kh_q  <= cur_kh_q + 1;
          cur_off_q <= cur_off_q + $signed(su_cmd_q[CMP_D_KH*32 +: 32]);
        end
        su_r_q    <= su_row + 1'b1;
        su_run_q  <= !su_last_row;
        su_done_q <= su_last_row;
      end
      if (xfer) su_valid_q <= 1'b0;
      // The command registers take every command the engine accepts; an illegal one leaves
      // su_valid_q low (and err_o high), so the check is not on the wide registers' enable.
      if (cmd_ready_o && cmd_valid_i) begin
        su_valid_q  <= !bad_cmd;
        su_run_q    <= 1'b0;
        su_done_q   <= 1'b0;
        su_cmd_q    <= cmd_i;
        if (!bad_cmd) begin
          su_bank_q   <= next_bank_q;
          next_bank_q <= !next_bank_q;
        end
        cur_kh_q    <= $signed(cmd_i[CMP_LANE0_KH*32 +: 32]);
        cur_kw_q    <= $signed(cmd_i[CMP_LANE0_KW*32 +: 32]);
        cur_c_q     <= $signed(cmd_i[CMP_LANE0_C*32 +: 32]);
        cur_off_q   <= $signed(cmd_i[CMP_LANE0_OFF*32 +: 32]);
      end
    end
  end

  // ---------------------------------------------------------------- stream unit
  logic signed [31:0] str_ow_q, str_ih_q, str_iw_q, str_base_q;
  assign str_last = str_valid_q && str_pix_q == str_last_pix_q;

  logic [ROWS-1:0]   lane_rd;
  for (genvar r = 0; r < ROWS; r++) begin : g_lane
    logic signed [31:0] kh, kw, off, ih, iw;
    // verilator lint_off UNUSEDSIGNAL
    // Only the ifmap buffer's address bits of the 32-bit address are used.
    logic signed [31:0] addr;
    // verilator lint_on UNUSEDSIGNAL
    logic ok;
    assign kh   = str_bank_q ? lane_kh_q[ROWS + r]  : lane_kh_q[r];
    assign kw   = str_bank_q ? lane_kw_q[ROWS + r]  : lane_kw_q[r];
    assign off  = str_bank_q ? lane_off_q[ROWS + r] : lane_off_q[r];
    assign ok   = str_bank_q ? lane_ok_q[ROWS + r]  : lane_ok_q[r];
    assign ih   = str_ih_q + kh;
    assign iw   = str_iw_q + kw;
    assign addr = str_base_q + off;
    assign lane_rd[r] = str_valid_q && ok &&
                        ih >= 0 && ih < $signed(str_cmd_q[CMP_IN_H*32 +: 32]) &&
                        iw >= 0 && iw < $signed(str_cmd_q[CMP_IN_W*32 +: 32]);
    assign ib_raddr_o[r*IAW +: IAW] = addr[IAW-1:0];
  end
  assign ib_re_o = lane_rd;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      str_valid_q <= 1'b0;
      str_bank_q  <= 1'b0;
      str_cmd_q   <= '0;
      str_pix_q   <= '0;
      str_last_pix_q <= '0;
      str_ow_q    <= '0;
      str_ih_q    <= '0;
      str_iw_q    <= '0;
      str_base_q  <= '0;
    end else begin
      if (str_valid_q) begin
        str_pix_q <= str_pix_q + 32'd1;
        if (str_ow_q + 1 < $signed(str_cmd_q[CMP_WOUT*32 +: 32])) begin
          str_ow_q   <= str_ow_q + 1;
          str_iw_q   <= str_iw_q + $signed(str_cmd_q[CMP_STRIDE*32 +: 32]);
          str_base_q <= str_base_q + $signed(str_cmd_q[CMP_D_OW*32 +: 32]);
        end else begin
          str_ow_q   <= 0;
          str_iw_q   <= $signed(str_cmd_q[CMP_IW_START*32 +: 32]);
          str_ih_q   <= str_ih_q + $signed(str_cmd_q[CMP_STRIDE*32 +: 32]);
          str_base_q <= str_base_q + $signed(str_cmd_q[CMP_D_OH*32 +: 32]);
        end
        if (str_last) str_valid_q <= 1'b0;
      end
      if (xfer) begin
        str_valid_q <= 1'b1;
        str_bank_q  <= su_bank_q;
        str_cmd_q   <= su_cmd_q;
        str_pix_q   <= '0;
        str_last_pix_q <= su_cmd_q[CMP_M_COUNT*32 +: 32] - 32'd1;
        str_ow_q    <= $signed(su_cmd_q[CMP_OW0*32 +: 32]);
        str_ih_q    <= $signed(su_cmd_q[CMP_IH0*32 +: 32]);
        str_iw_q    <= $signed(su_cmd_q[CMP_IW0*32 +: 32]);
        str_base_q  <= $signed(su_cmd_q[CMP_PIX_BASE0*32 +: 32]);
      end
    end
  end

  // Issue stage (the buffer's read register, the lanes that read, the bank), then lane r is
  // delayed r cycles (skew) before entering array row r.
  logic [ROWS*8-1:0] a_q;
  logic [ROWS-1:0]   lane_rd_q;
  logic              a_bank_q;
  logic [CW-1:0]     ctl_d;
  logic [CAW-1:0]    acc_addr;
  assign acc_addr = str_cmd_q[CMP_ACC_ADDR*32 +: CAW] + str_pix_q[CAW-1:0];
  assign ctl_d = {str_valid_q, str_cmd_q[CMP_FIRST*32 +: 32] != 32'd0, str_last, acc_addr};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      lane_rd_q <= '0;
      a_bank_q  <= 1'b0;
    end else begin
      lane_rd_q <= lane_rd;
      a_bank_q  <= str_bank_q;
    end
  end
  for (genvar r = 0; r < ROWS; r++) begin : g_issue
    assign a_q[r*8 +: 8] = lane_rd_q[r] ? ib_rdata_i[r*8 +: 8] : 8'd0;
  end

  logic [ROWS*8-1:0] arr_a;
  logic [ROWS-1:0]   arr_bank;
  for (genvar r = 0; r < ROWS; r++) begin : g_skew
    if (r == 0) begin : g_direct
      assign arr_a[7:0] = a_q[7:0];
      assign arr_bank[0] = a_bank_q;
    end else if (r == 1) begin : g_one
      logic [8:0] sk_q;
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) sk_q <= '0;
        else         sk_q <= {a_bank_q, a_q[15:8]};
      end
      assign {arr_bank[1], arr_a[15:8]} = sk_q;
    end else begin : g_delay
      logic [9*r-1:0] sk_q;
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) sk_q <= '0;
        else         sk_q <= {sk_q[9*(r-1)-1:0], a_bank_q, a_q[r*8 +: 8]};
      end
      assign {arr_bank[r], arr_a[r*8 +: 8]} = sk_q[9*r-1 -: 9];
    end
  end

  logic [COLS*32-1:0] psum;
  hdx_ws_array #(.ROWS(ROWS), .COLS(COLS)) u_array (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .wl_en0_i  (wl_en0_q),
    .wl_en1_i  (wl_en1_q),
    .wl_data_i (wl_data),
    .a_i       (arr_a),
    .bank_i    (arr_bank),
    .psum_o    (psum)
  );

  // Deskew: column c waits COLS-1-c cycles so that a pixel's sums leave together.
  logic [COLS*32-1:0] col_sum;
  for (genvar c = 0; c < COLS; c++) begin : g_deskew
    localparam Dly = COLS - 1 - c;
    if (Dly == 0) begin : g_direct
      assign col_sum[c*32 +: 32] = psum[c*32 +: 32];
    end else if (Dly == 1) begin : g_one
      logic [31:0] dk_q;
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) dk_q <= '0;
        else         dk_q <= psum[c*32 +: 32];
      end
      assign col_sum[c*32 +: 32] = dk_q;
    end else begin : g_delay
      logic [32*Dly-1:0] dk_q;
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) dk_q <= '0;
        else         dk_q <= {dk_q[32*(Dly-1)-1:0], psum[c*32 +: 32]};
      end
      assign col_sum[c*32 +: 32] = dk_q[32*Dly-1 -: 32];
    end
  end

  // Control travels alongside: {valid, first, last, address} is the accumulator request one
  // cycle before the sums arrive.
  logic [CW*(D-1)-1:0] ctl_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) ctl_q <= '0;
    else         ctl_q <= {ctl_q[CW*(D-2)-1:0], ctl_d};
  end
  logic rmw_valid, rmw_first;
  assign {rmw_valid, rmw_first, acc_rq_last_o, acc_rq_addr_o} = ctl_q[CW*(D-1)-1 -: CW];
  assign acc_rq_valid_o = rmw_valid;
  assign acc_rq_first_o = rmw_first;
  assign acc_add_o      = col_sum;

  // ---------------------------------------------------------------- events
  logic [63:0] macs_q, ifmap_rd_q, weight_rd_q, acc_rd_q, acc_wr_q;
  logic [RW:0] lane_cnt;  // lanes that read, counted from the issue register (a cycle late)
  logic [15:0] macs_px;
  assign macs_px = str_cmd_q[CMP_K_VALID*32 +: 8] * str_cmd_q[CMP_N_VALID*32 +: 8];
  integer lr;
  always_comb begin
    lane_cnt = '0;
    for (lr = 0; lr < ROWS; lr = lr + 1) lane_cnt = lane_cnt + {{RW{1'b0}}, lane_rd_q[lr]};
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      done_q      <= '0;
      macs_q      <= '0;
      ifmap_rd_q  <= '0;
      weight_rd_q <= '0;
      acc_rd_q    <= '0;
      acc_wr_q    <= '0;
    end else if (clear_i) begin
      done_q      <= '0;
      macs_q      <= '0;
      ifmap_rd_q  <= '0;
      weight_rd_q <= '0;
      acc_rd_q    <= '0;
      acc_wr_q    <= '0;
    end else begin
      if (str_valid_q) macs_q <= macs_q + {48'd0, macs_px};
      ifmap_rd_q <= ifmap_rd_q + {{(63-RW){1'b0}}, lane_cnt};
      if (row_ok) weight_rd_q <= weight_rd_q + RowBytes;
      if (rmw_valid) begin
        acc_wr_q <= acc_wr_q + AccBytes;
        if (!rmw_first) acc_rd_q <= acc_rd_q + AccBytes;
      end
      if (acc_wr_last_i) done_q <= done_q + 32'd1;
    end
  end
  assign done_cnt_o     = done_q;
  assign ev_macs_o      = macs_q;
  assign ev_ifmap_rd_o  = ifmap_rd_q;
  assign ev_weight_rd_o = weight_rd_q;
  assign ev_acc_rd_o    = acc_rd_q;
  assign ev_acc_wr_o    = acc_wr_q;
endmodule
