// Store engine: for each output pixel of a command, reads one accumulator entry (synchronous
// read: the entry arrives in the next cycle, stage 0), applies the output stage in every lane
// (hdx_requant, stages 1 to 3) and writes the n_valid int8 results to DRAM in beats of up to
// BPC bytes, one beat per cycle. A pixel is issued every beats_per_pix cycles, so the stage
// registers hold each pixel until its beats are out; while the write channel stalls nothing
// advances and no entry is read, so the accumulator's output holds stage 0's entry.
// Also holds the per-channel output parameters: the param buffer, an SRAM of two words (slots)
// of COLS channels x 9 bytes, read with each pixel's accumulator entry.
//
// Illegal commands (err_o, sticky until clear_i; the engine then takes no further command):
// zero pixels or beats per pixel, n_valid of 0 or above COLS, a param slot other than 0 or 1,
// or accumulator entries past ACC.
module hdx_st #(
  parameter COLS  = 4,
  parameter BPC   = 8,
  parameter WORDS = 11,
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
  input  logic [31:0]         cnt_cmp_i,
  output logic [31:0]         done_cnt_o,
  output logic                err_o,
  // param buffer write port (from the load engine)
  input  logic                pw_valid_i,
  input  logic [23:0]         pw_addr_i,
  input  logic [7:0]          pw_len_i,
  input  logic [BPC*8-1:0]    pw_data_i,
  // accumulator read (data in the next cycle)
  output logic                acc_re_o,
  output logic [CAW-1:0]      acc_raddr_o,
  input  logic [COLS*32-1:0]  acc_rdata_i,
  // DRAM write channel
  output logic                wr_valid_o,
  input  logic                wr_ready_i,
  output logic [31:0]         wr_addr_o,
  output logic [7:0]          wr_len_o,
  output logic [BPC*8-1:0]    wr_data_o,
  // events
  output logic [63:0]         ev_acc_rd_o,
  output logic [63:0]         ev_wr_bytes_o
);
  `include "hdx_st_cmd.vh"

  localparam PB   = 9;                          // bytes per channel: bias, mult, shift
  localparam SB   = COLS * PB;                  // bytes per slot
  localparam NB   = (COLS + BPC - 1) / BPC * BPC;  // lanes rounded up to whole beats
  localparam [63:0] AccBytes = 4 * COLS;
  localparam [31:0] Bpc = BPC;

  // ---------------------------------------------------------------- issue
  // verilator lint_off UNUSEDSIGNAL
  // Command words are 32 bits wide; not every bit of every field is used.
  logic [WORDS*32-1:0] cmd_q;
  // verilator lint_on UNUSEDSIGNAL
  logic        cur_valid_q;
  logic [31:0] pix_q, slot_q, dram_q;
  // The command's last beat slot and last pixel (beats_per_pix - 1, m_count - 1), taken
  // with the command, so that no decrement lies on the issue path.
  logic [31:0] last_slot_q, last_pix_q;
  logic        adv, deps_ok, tick, issue, pix_end, cmd_end;

  assign adv     = !(wr_valid_o && !wr_ready_i);
  assign deps_ok = cnt_ld_i  >= cmd_q[ST_WAIT_LD*32 +: 32] &&
                   cnt_cmp_i >= cmd_q[ST_WAIT_CMP*32 +: 32] &&
                   done_cnt_o >= cmd_q[ST_WAIT_ST*32 +: 32];
  assign tick    = cur_valid_q && deps_ok && adv;
  assign issue   = tick && slot_q == 32'd0;
  assign pix_end = slot_q == last_slot_q;
  assign cmd_end = pix_end && pix_q == last_pix_q;
  logic bad_cmd, err_q;
  localparam [32:0] AccN = ACC;
  localparam [31:0] ColsN = COLS;
  assign bad_cmd = cmd_i[ST_M_COUNT*32 +: 32] == 32'd0 ||
                   cmd_i[ST_BEATS_PER_PIX*32 +: 32] == 32'd0 ||
                   cmd_i[ST_N_VALID*32 +: 32] == 32'd0 || cmd_i[ST_N_VALID*32 +: 32] > ColsN ||
                   cmd_i[ST_PARAM_SLOT*32 +: 32] > 32'd1 ||
                   {1'b0, cmd_i[ST_ACC_ADDR*32 +: 32]} + {1'b0, cmd_i[ST_M_COUNT*32 +: 32]} > AccN;
  assign cmd_ready_o = busy_i && !err_q && (!cur_valid_q || (tick && cmd_end));
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                                  err_q <= 1'b0;
    else if (clear_i)                             err_q <= 1'b0;
    else if (cmd_ready_o && cmd_valid_i && bad_cmd) err_q <= 1'b1;
  end
  assign err_o = err_q;

  assign acc_re_o    = issue;
  assign par_re      = issue;  // the pixel's params arrive with its entry, in stage 0
  assign acc_raddr_o = cmd_q[ST_ACC_ADDR*32 +: CAW] + pix_q[CAW-1:0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cur_valid_q <= 1'b0;
      cmd_q       <= '0;
      pix_q       <= '0;
      slot_q      <= '0;
      dram_q      <= '0;
      last_slot_q <= '0;
      last_pix_q  <= '0;
    end else begin
      if (tick) begin
        if (pix_end) begin
          slot_q <= '0;
          pix_q  <= pix_q + 32'd1;
          dram_q <= dram_q + cmd_q[ST_DRAM_STRIDE*32 +: 32];
          if (cmd_end) cur_valid_q <= 1'b0;
        end else begin
          slot_q <= slot_q + 32'd1;
        end
      end
      // The command registers take every command the engine accepts; an illegal one leaves
      // cur_valid_q low (and err_o high), so the check is not on the wide registers' enable.
      if (cmd_ready_o && cmd_valid_i) begin
        cur_valid_q <= !bad_cmd;
        cmd_q       <= cmd_i;
        pix_q       <= '0;
        slot_q      <= '0;
        dram_q      <= cmd_i[ST_DRAM_ADDR*32 +: 32];
        last_slot_q <= cmd_i[ST_BEATS_PER_PIX*32 +: 32] - 32'd1;
        last_pix_q  <= cmd_i[ST_M_COUNT*32 +: 32] - 32'd1;
      end
    end
  end

  // ---------------------------------------------------------------- param buffer
  // Slot w holds buffer bytes [w * SB, w * SB + SB); a write (one beat of a param load) lies
  // inside one slot, and byte k of the slot takes byte k - offset of the beat if it has it:
  // the bytes [offset, offset + length) are enabled (a mask shifted into place, which a shift
  // past SB clears; one wide shift rather than SB comparators, and one for the data).
  localparam integer SbI = SB;
  localparam [23:0]  Sb  = SbI[23:0];
  logic              pw_slot;
  logic [23:0]       pw_off;
  logic [SB*8-1:0]   pw_word, par;
  logic [SB-1:0]     pw_be;
  logic [SB-1:0]     pw_lenmask;
  logic              par_re;
  assign pw_slot    = pw_addr_i >= Sb;
  assign pw_off     = pw_slot ? pw_addr_i - Sb : pw_addr_i;
  assign pw_lenmask = ~({SB{1'b1}} << pw_len_i);
  assign pw_be      = pw_valid_i ? pw_lenmask << pw_off : '0;
  // The beat shifted to its offset: byte k of the slot is byte k - offset of the beat.
  // verilator lint_off UNUSEDSIGNAL
  logic [SB*8+BPC*8-1:0] pw_win;  // bytes shifted past the slot's end are never enabled
  // verilator lint_on UNUSEDSIGNAL
  assign pw_win  = {{(SB*8){1'b0}}, pw_data_i} << {pw_off, 3'b000};
  assign pw_word = pw_win[SB*8-1:0];
  hdx_sram_2p #(.DEPTH(2), .AW(1), .WIDTH(SB*8), .NBE(SB)) u_param (
    .clk_i   (clk_i),
    .we_i    (pw_valid_i),
    .waddr_i (pw_slot),
    .wbe_i   (pw_be),
    .wdata_i (pw_word),
    .re_i    (par_re),
    .raddr_i (cmd_q[ST_PARAM_SLOT*32 +: 32] != 32'd0),
    .rdata_o (par)
  );

  // ---------------------------------------------------------------- output stage
  // Pipeline control: stage 0 has the entry at the accumulator's output, stage 1 holds the
  // sum, stage 2 the product, stage 3 the int8 row being written.
  logic        s0_valid_q, s1_valid_q, s2_valid_q, s3_valid_q;
  logic        s0_last_q, s1_last_q, s2_last_q, s3_last_q;
  logic [31:0] s0_addr_q, s1_addr_q, s2_addr_q, s3_addr_q, s0_nv_q, s1_nv_q, s2_nv_q, s3_nv_q;
  // s*_lb_q: the pixel's last beat (beats_per_pix - 1).
  logic [31:0] s0_lb_q, s1_lb_q, s2_lb_q, s3_lb_q, beat_q;
  // The ReLU flag of the pixel in stage 0 (the command may have moved on), and its lanes
  // below n_valid (decoded at issue, so that no compare lies before the sum's adder).
  logic        s0_relu_q;
  logic [COLS-1:0] used_d, s0_used_q;
  for (genvar c = 0; c < COLS; c++) begin : g_used
    localparam [31:0] C32 = c;
    assign used_d[c] = C32 < cmd_q[ST_N_VALID*32 +: 32];
  end

  logic [NB*8-1:0] row;
  for (genvar c = 0; c < NB; c++) begin : g_lane
    if (c < COLS) begin : g_rq
      localparam B0 = c * PB;
      // Lanes past n_valid were never loaded: their params read as 0.
      logic        used;
      logic [31:0] bias, mult;
      logic [7:0]  shift;
      assign used  = s0_used_q[c];
      assign bias  = used ? par[B0*8 +: 32]     : 32'd0;
      assign mult  = used ? par[(B0+4)*8 +: 32] : 32'd0;
      assign shift = used ? par[(B0+8)*8 +: 8]  : 8'd0;
      hdx_requant u_rq (
        .clk_i   (clk_i),
        .en0_i   (s0_valid_q && adv),
        .acc_i   (acc_rdata_i[c*32 +: 32]),
        .bias_i  (bias),
        .mult_i  (mult),
        .shift_i (shift[5:0]),
        .relu_i  (s0_relu_q),
        .en1_i   (s1_valid_q && adv),
        .en2_i   (s2_valid_q && adv),
        .y_o     (row[c*8 +: 8])
      );
      // Shift values are 0..63 (validated by the host); bits 7:6 are not used.
      // verilator lint_off UNUSEDSIGNAL
      logic unused_shift;
      assign unused_shift = ^shift[7:6];
      // verilator lint_on UNUSEDSIGNAL
    end else begin : g_pad
      assign row[c*8 +: 8] = 8'd0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {s0_valid_q, s1_valid_q, s2_valid_q, s3_valid_q} <= '0;
      {s0_last_q, s1_last_q, s2_last_q, s3_last_q} <= '0;
      {s0_addr_q, s1_addr_q, s2_addr_q, s3_addr_q, s0_nv_q, s1_nv_q, s2_nv_q, s3_nv_q} <= '0;
      {s0_lb_q, s1_lb_q, s2_lb_q, s3_lb_q, beat_q} <= '0;
      s0_relu_q <= 1'b0;
      s0_used_q <= '0;
    end else if (adv) begin
      s0_valid_q <= issue;
      if (issue) begin
        s0_last_q <= pix_q == last_pix_q;
        s0_addr_q <= dram_q;
        s0_nv_q   <= cmd_q[ST_N_VALID*32 +: 32];
        s0_lb_q   <= last_slot_q;
        s0_relu_q  <= cmd_q[ST_RELU*32 +: 32] != 32'd0;
        s0_used_q  <= used_d;
      end
      s1_valid_q <= s0_valid_q;
      if (s0_valid_q) begin
        s1_last_q <= s0_last_q;
        s1_addr_q <= s0_addr_q;
        s1_nv_q   <= s0_nv_q;
        s1_lb_q   <= s0_lb_q;
      end
      s2_valid_q <= s1_valid_q;
      if (s1_valid_q) begin
        s2_last_q <= s1_last_q;
        s2_addr_q <= s1_addr_q;
        s2_nv_q   <= s1_nv_q;
        s2_lb_q   <= s1_lb_q;
      end
      if (s2_valid_q) begin
        s3_valid_q <= 1'b1;
        s3_last_q  <= s2_last_q;
        s3_addr_q  <= s2_addr_q;
        s3_nv_q    <= s2_nv_q;
        s3_lb_q    <= s2_lb_q;
        beat_q     <= '0;
      end else if (s3_valid_q) begin
        if (beat_q == s3_lb_q) s3_valid_q <= 1'b0;
        beat_q <= beat_q + 32'd1;
      end
    end
  end

  // Beat beat_q carries lanes [beat_q*BPC, beat_q*BPC + BPC).
  logic [31:0] lane0, rem;
  assign lane0      = beat_q * Bpc;
  assign rem        = s3_nv_q - lane0;
  assign wr_valid_o = s3_valid_q;
  assign wr_addr_o  = s3_addr_q + lane0;
  assign wr_len_o   = rem > Bpc ? Bpc[7:0] : rem[7:0];
  for (genvar k = 0; k < BPC; k++) begin : g_beat
    logic [31:0] lane;
    assign lane = lane0 + k;
    localparam [7:0] K = k;
    // Bytes past the beat's length are driven 0, never a stale or unknown lane.
    assign wr_data_o[k*8 +: 8] = lane < NB && K < wr_len_o ? row[lane*8 +: 8] : 8'd0;
  end

  logic        beat_last;
  logic [31:0] done_q;
  logic [63:0] acc_rd_q, wr_bytes_q;
  assign beat_last = wr_valid_o && wr_ready_i && s3_last_q && beat_q == s3_lb_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      done_q     <= '0;
      acc_rd_q   <= '0;
      wr_bytes_q <= '0;
    end else if (clear_i) begin
      done_q     <= '0;
      acc_rd_q   <= '0;
      wr_bytes_q <= '0;
    end else begin
      if (issue) acc_rd_q <= acc_rd_q + AccBytes;
      if (wr_valid_o && wr_ready_i) wr_bytes_q <= wr_bytes_q + {56'd0, wr_len_o};
      if (beat_last) done_q <= done_q + 32'd1;
    end
  end
  assign done_cnt_o    = done_q;
  assign ev_acc_rd_o   = acc_rd_q;
  assign ev_wr_bytes_o = wr_bytes_q;
endmodule
