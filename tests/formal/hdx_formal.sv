// Bounded proof harness of the handshake rules of a generated accelerator, on its top-level
// ports only (the ports of templates/common/hdx_core.sv), so that it holds whatever the
// engines and buffers inside look like. scripts/formal.sh generates the tree with hdx rtl and
// reads it with this file into Yosys (read_verilog -formal), then ABC's bounded model checker
// (bmc3, on the AIGER export) proves the assertions for a bounded number of cycles from reset.
//
// Every input of this module is free in every cycle: the solver picks them. The assumptions
// below narrow them to what the protocol allows and nothing else:
//   - reset in cycle 0, start in cycle 1 only, the three command counts fixed after reset;
//   - the host offers at most n commands per stream; a command once valid stays valid and
//     unchanged until it is taken;
//   - the DRAM answers only requests it accepted, reads in order with the request's tag, at
//     least one cycle later; a response once valid stays valid and unchanged until taken;
//     it may withhold ready and delay responses for any number of cycles.
// Read data, command contents (legal or not), counts and stalls are otherwise unconstrained.
//
// The assertions, checked in every cycle after reset, in four groups (scripts/formal.sh proves
// each group in a run of its own):
//   rd_req_hold, wr_hold   a read request or write beat not taken stays valid and unchanged
//                          (groups 1 and 2, with rd_len and wr_len);
//   no_cmd_lost            when done rises, each stream took exactly its n commands and no
//                          DRAM read or write is outstanding (group 3);
//   no_cmd_replayed        while done is high, no command is taken and no DRAM request made
//                          (group 3);
//   rd_len, wr_len         requests carry 1..BPC bytes;
//   counter_monotonic      no event counter decreases, except at start, which clears them
//                          (group 4).
//
// Proof aids of group 3. The command rules hold at the cycle done rises, when each engine's
// completed-command count (internal) reaches its n; a bounded model checker that sees only
// the rules must rule out every schedule of commands and stalls that gets there, which grows
// about 2.5 times per cycle. Group 3 therefore also asserts, in every cycle, four facts that
// tie those internal counts to the harness's counts on the ports (below, "proof aids"). They
// are proven like the rules, so they assume nothing; bmc3 proves each cycle's assertions in
// turn and keeps them as facts for the next cycle, which makes each cycle far cheaper. They
// read internal state of the load and store engines (templates/common/hdx_ld.sv, hdx_st.sv)
// through the dut_* wires below, which scripts/formal.sh connects to the flattened design;
// renaming those signals stops the script (Yosys error) until the list there is updated, and
// a wrong aid fails as an assertion of its own, never as a proof of the rules. The rules
// themselves still read only the ports.
//
// The top is `HDX_TOP; its command widths `LD_W, `CMP_W, `ST_W and bytes per cycle `BPC come
// from the generated tree (scripts/formal.sh reads them from the top's ports).
module hdx_formal (
  input logic              clk_i,
  input logic              rst_ni,
  input logic              start_i,
  input logic [31:0]       n_ld_i,
  input logic [31:0]       n_cmp_i,
  input logic [31:0]       n_st_i,
  input logic              ld_cmd_valid_i,
  input logic [`LD_W-1:0]  ld_cmd_i,
  input logic              cmp_cmd_valid_i,
  input logic [`CMP_W-1:0] cmp_cmd_i,
  input logic              st_cmd_valid_i,
  input logic [`ST_W-1:0]  st_cmd_i,
  input logic              rd_req_ready_i,
  input logic              rd_rsp_valid_i,
  input logic [`BPC*8-1:0] rd_rsp_data_i,
  input logic              wr_ready_i,
  input logic              wr_rsp_valid_i
);
  localparam BPC = `BPC;
  localparam DEPTH = 4;  // reads the DRAM model holds in flight; more stalls the requests

  logic busy, done;
  logic [2:0] err;
  logic ld_ready, cmp_ready, st_ready;
  logic rd_req_valid, rd_rsp_ready, wr_valid, wr_rsp_ready;
  logic [31:0] rd_addr, rd_addr_dut, wr_addr;
  logic [7:0] rd_len, wr_len;
  logic [34:0] rd_tag, rsp_tag;
  logic [BPC*8-1:0] wr_data;
  logic [17*64-1:0] cnt;
  logic rd_wait;  // a read request was offered and not taken in the previous cycle

  `HDX_TOP u_dut (
    .clk_i                (clk_i),
    .rst_ni               (rst_ni),
    .start_i              (start_i),
    .n_ld_i               (n_ld_i),
    .n_cmp_i              (n_cmp_i),
    .n_st_i               (n_st_i),
    .busy_o               (busy),
    .done_o               (done),
    .err_o                (err),
    .ld_cmd_valid_i       (ld_cmd_valid_i),
    .ld_cmd_ready_o       (ld_ready),
    .ld_cmd_i             (ld_cmd_i),
    .cmp_cmd_valid_i      (cmp_cmd_valid_i),
    .cmp_cmd_ready_o      (cmp_ready),
    .cmp_cmd_i            (cmp_cmd_i),
    .st_cmd_valid_i       (st_cmd_valid_i),
    .st_cmd_ready_o       (st_ready),
    .st_cmd_i             (st_cmd_i),
    .rd_req_valid_o       (rd_req_valid),
    .rd_req_ready_i       (rd_req_ready_i),
    .rd_req_addr_o        (rd_addr_dut),
    .rd_req_len_o         (rd_len),
    .rd_req_tag_o         (rd_tag),
    .rd_rsp_valid_i       (rd_rsp_valid_i),
    .rd_rsp_data_i        (rd_rsp_data_i),
    .rd_rsp_tag_i         (rsp_tag),
    .rd_rsp_ready_o       (rd_rsp_ready),
    .wr_valid_o           (wr_valid),
    .wr_ready_i           (wr_ready_i),
    .wr_addr_o            (wr_addr),
    .wr_len_o             (wr_len),
    .wr_data_o            (wr_data),
    .wr_rsp_valid_i       (wr_rsp_valid_i),
    .wr_rsp_ready_o       (wr_rsp_ready),
    .cnt_cycles_o         (cnt[0*64 +: 64]),
    .cnt_macs_o           (cnt[1*64 +: 64]),
    .cnt_dram_rd_bytes_o  (cnt[2*64 +: 64]),
    .cnt_dram_wr_bytes_o  (cnt[3*64 +: 64]),
    .cnt_ifmap_wr_o       (cnt[4*64 +: 64]),
    .cnt_ifmap_rd_o       (cnt[5*64 +: 64]),
    .cnt_weight_wr_o      (cnt[6*64 +: 64]),
    .cnt_weight_rd_o      (cnt[7*64 +: 64]),
    .cnt_param_wr_o       (cnt[8*64 +: 64]),
    .cnt_acc_rd_o         (cnt[9*64 +: 64]),
    .cnt_acc_wr_o         (cnt[10*64 +: 64]),
    .cnt_spad_ifmap_rd_o  (cnt[11*64 +: 64]),
    .cnt_spad_ifmap_wr_o  (cnt[12*64 +: 64]),
    .cnt_spad_filter_rd_o (cnt[13*64 +: 64]),
    .cnt_spad_filter_wr_o (cnt[14*64 +: 64]),
    .cnt_spad_psum_rd_o   (cnt[15*64 +: 64]),
    .cnt_spad_psum_wr_o   (cnt[16*64 +: 64])
  );

`ifdef HDX_FORMAL_MUTANT
  // Self-check of the harness (scripts/formal.sh --mutant): a read address that moves while
  // the DRAM stalls the request must fail rd_req_hold.
  assign rd_addr = rd_addr_dut + {31'd0, rd_wait};
`else
  assign rd_addr = rd_addr_dut;
`endif

`ifdef FORMAL
  // ---------------------------------------------------------------- protocol state
  logic [7:0] step = 8'd0;  // cycles since the start of the trace, saturating
  always @(posedge clk_i) if (step != 8'hff) step <= step + 8'd1;

  // What the previous cycle offered and whether it was taken.
  logic ld_wait, cmp_wait, st_wait, wr_wait, rsp_wait, ack_wait;
  logic [`LD_W-1:0] ld_prev;
  logic [`CMP_W-1:0] cmp_prev;
  logic [`ST_W-1:0] st_prev;
  logic [31:0] rd_addr_prev, wr_addr_prev, n_ld_prev, n_cmp_prev, n_st_prev;
  logic [7:0] rd_len_prev, wr_len_prev;
  logic [34:0] rd_tag_prev;
  logic [BPC*8-1:0] wr_data_prev, rsp_data_prev;
  logic [17*64-1:0] cnt_prev;
  logic start_prev, done_prev;
  // Commands taken since start; DRAM reads and writes accepted and not yet answered.
  logic [31:0] ld_taken, cmp_taken, st_taken, wr_out;
  logic [2:0] rd_out;
  logic [34:0] tags [0:DEPTH-1];  // tags of the reads in flight, oldest first
  assign rsp_tag = tags[0];

  // Internal state for group 3's proof aids, connected by scripts/formal.sh: the load engine's
  // completed commands and whether it holds a command; the store engine's completed commands,
  // whether it holds a command, its pixel, slot and last pixel (M_COUNT - 1), and the valid and
  // last-pixel flags of its four output stages.
  (* keep *) logic [31:0] dut_ld_done, dut_st_done, dut_st_pix, dut_st_slot, dut_st_last;
  (* keep *) logic dut_ld_cur, dut_st_cur, dut_st_v0, dut_st_v1, dut_st_v2, dut_st_v3;
  (* keep *) logic dut_st_l0, dut_st_l1, dut_st_l2, dut_st_l3;
  localparam LAST = 34;  // the read tag's top bit: the load command's last beat (hdx_ld.sv)
  logic [2:0] ld_ends, st_ends;  // last beats in flight; last pixels in the store pipeline
  logic st_open;  // the store engine holds a command whose last pixel it has not issued
  always @* begin
    ld_ends = 3'd0;
    for (int j = 0; j < DEPTH; j++) if (j < rd_out && tags[j][LAST]) ld_ends = ld_ends + 3'd1;
  end
  assign st_ends = {2'd0, dut_st_v0 && dut_st_l0} + {2'd0, dut_st_v1 && dut_st_l1} +
                   {2'd0, dut_st_v2 && dut_st_l2} + {2'd0, dut_st_v3 && dut_st_l3};
  assign st_open = dut_st_cur && !(dut_st_pix == dut_st_last && dut_st_slot != 32'd0);

  wire ld_fire = ld_cmd_valid_i && ld_ready;
  wire cmp_fire = cmp_cmd_valid_i && cmp_ready;
  wire st_fire = st_cmd_valid_i && st_ready;
  wire rd_fire = rd_req_valid && rd_req_ready_i;
  wire rsp_fire = rd_rsp_valid_i && rd_rsp_ready;
  wire wr_fire = wr_valid && wr_ready_i;
  wire ack_fire = wr_rsp_valid_i && wr_rsp_ready;

  always @(posedge clk_i) begin
    ld_wait <= ld_cmd_valid_i && !ld_ready;
    cmp_wait <= cmp_cmd_valid_i && !cmp_ready;
    st_wait <= st_cmd_valid_i && !st_ready;
    rd_wait <= rd_req_valid && !rd_req_ready_i;
    wr_wait <= wr_valid && !wr_ready_i;
    rsp_wait <= rd_rsp_valid_i && !rd_rsp_ready;
    ack_wait <= wr_rsp_valid_i && !wr_rsp_ready;
    {ld_prev, cmp_prev, st_prev} <= {ld_cmd_i, cmp_cmd_i, st_cmd_i};
    {rd_addr_prev, rd_len_prev, rd_tag_prev} <= {rd_addr, rd_len, rd_tag};
    {wr_addr_prev, wr_len_prev, wr_data_prev} <= {wr_addr, wr_len, wr_data};
    rsp_data_prev <= rd_rsp_data_i;
    {n_ld_prev, n_cmp_prev, n_st_prev} <= {n_ld_i, n_cmp_i, n_st_i};
    cnt_prev <= cnt;
    start_prev <= start_i;
    done_prev <= done;
    ld_taken <= start_i ? 32'd0 : ld_taken + {31'd0, ld_fire};
    cmp_taken <= start_i ? 32'd0 : cmp_taken + {31'd0, cmp_fire};
    st_taken <= start_i ? 32'd0 : st_taken + {31'd0, st_fire};
    wr_out <= !rst_ni ? 32'd0 : wr_out + {31'd0, wr_fire} - {31'd0, ack_fire};
    if (!rst_ni) begin
      rd_out <= 3'd0;
    end else begin
      rd_out <= rd_out + {2'd0, rd_fire} - {2'd0, rsp_fire};
      for (int k = 0; k < DEPTH; k++) begin
        if (rsp_fire)
          tags[k] <= k + 1 < DEPTH ? tags[k+1] : 35'd0;
        if (rd_fire && k == {29'd0, rd_out} - (rsp_fire ? 32'd1 : 32'd0))
          tags[k] <= rd_tag;
      end
    end
  end

  // ---------------------------------------------------------------- assumptions
  always @* begin
    assume (rst_ni == (step != 8'd0));
    assume (start_i == (step == 8'd1));
    if (step >= 8'd2) assume (n_ld_i == n_ld_prev && n_cmp_i == n_cmp_prev && n_st_i == n_st_prev);
    if (step < 8'd1) assume (!ld_cmd_valid_i && !cmp_cmd_valid_i && !st_cmd_valid_i);
    if (step < 8'd1) assume (!rd_rsp_valid_i && !wr_rsp_valid_i);
    if (step >= 8'd1) begin
      // The host offers n commands per stream, each held until taken.
      if (!start_i) begin
        assume (!ld_cmd_valid_i || ld_taken < n_ld_i);
        assume (!cmp_cmd_valid_i || cmp_taken < n_cmp_i);
        assume (!st_cmd_valid_i || st_taken < n_st_i);
      end
      if (ld_wait) assume (ld_cmd_valid_i && ld_cmd_i == ld_prev);
      if (cmp_wait) assume (cmp_cmd_valid_i && cmp_cmd_i == cmp_prev);
      if (st_wait) assume (st_cmd_valid_i && st_cmd_i == st_prev);
      // The DRAM answers what it accepted, in order, and holds a response until taken.
      if (rd_out == DEPTH) assume (!rd_req_ready_i);
      assume (!rd_rsp_valid_i || rd_out != 3'd0);
      if (rsp_wait) assume (rd_rsp_valid_i && rd_rsp_data_i == rsp_data_prev);
      assume (!wr_rsp_valid_i || wr_out != 32'd0);
      if (ack_wait) assume (wr_rsp_valid_i);
    end
  end

  // ---------------------------------------------------------------- assertions
  // One group per run (`HDX_GROUP: 1 read channel, 2 write channel, 3 commands, 4 counters),
  // so that the solver sees only the logic that group depends on.
  always @* begin
    if (step >= 8'd2) begin
      if (`HDX_GROUP == 1) begin
        // rd_req_hold, rd_len
        if (rd_wait) assert (rd_req_valid && rd_addr == rd_addr_prev && rd_len == rd_len_prev &&
                             rd_tag == rd_tag_prev);
        if (rd_req_valid) assert (rd_len != 8'd0 && rd_len <= BPC);
      end
      if (`HDX_GROUP == 2) begin
        // wr_hold, wr_len
        if (wr_wait) assert (wr_valid && wr_addr == wr_addr_prev && wr_len == wr_len_prev &&
                             wr_data == wr_data_prev);
        if (wr_valid) assert (wr_len != 8'd0 && wr_len <= BPC);
      end
      if (`HDX_GROUP == 3) begin
        // Proof aids (see the header). Load engine: commands completed, the one it holds and
        // the last beats in flight add up to at most the commands taken, and the newest read
        // in flight is a command's last beat or its command is still held.
        assert (dut_ld_done + {31'd0, dut_ld_cur} + {29'd0, ld_ends} <= ld_taken);
        if (rd_out != 3'd0) assert (dut_ld_cur || tags[rd_out - 3'd1][LAST]);
        // Store engine: commands completed, last pixels in the pipeline and the command held
        // before its last pixel is issued add up to at most the commands taken, and while it
        // holds a command or a pixel, one of the last two is pending.
        assert (dut_st_done + {29'd0, st_ends} + {31'd0, st_open} <= st_taken);
        if (dut_st_cur || dut_st_v0 || dut_st_v1 || dut_st_v2 || dut_st_v3)
          assert (st_open || st_ends != 3'd0);
        // no_cmd_lost, no_cmd_replayed
        if (done && !done_prev)
          assert (ld_taken == n_ld_i && cmp_taken == n_cmp_i && st_taken == n_st_i &&
                  wr_out == 32'd0 && rd_out == 3'd0);
        if (done) assert (!ld_fire && !cmp_fire && !st_fire && !rd_req_valid && !wr_valid);
      end
      if (`HDX_GROUP == 4) begin
        // counter_monotonic
        if (!start_prev)
          for (int k = 0; k < 17; k++) assert (cnt[k*64 +: 64] >= cnt_prev[k*64 +: 64]);
      end
    end
  end
`endif
endmodule
