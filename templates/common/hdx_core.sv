// The accelerator shell (command streams, DRAM channels, buffers, event counters) around the
// load, compute and store engines; the compute engine is the weight-stationary systolic
// array (RS = 0) or the row-stationary array (RS = 1). docs/architecture.md describes both.
//
// The host writes the number of commands of each engine, pulses start_i, and keeps the
// three command streams valid; done_o rises when every engine has completed its commands
// and every write beat has been acknowledged on the write response channel. An engine that
// takes an illegal command (a zero count, a field out of range, an address past its buffer)
// does not run it, sets its bit of err_o and takes no further command until the next start;
// done_o then never rises and the host reads err_o.
// cnt_cycles_o counts the cycles from the edge that sampled start_i to the edge that raised
// done_o.
module hdx_core #(
  parameter RS           = 0,
  parameter PE_ROWS      = 4,
  parameter PE_COLS      = 4,
  parameter BPC          = 8,
  parameter IFMAP_BYTES  = 8192,
  parameter WEIGHT_BYTES = 4096,
  parameter ACC_ENTRIES  = 256,
  // verilator lint_off UNUSEDPARAM
  // The scratchpad sizes (entries per PE) are used by the rs compute engine only.
  parameter SPAD_IFMAP   = 12,
  parameter SPAD_FILTER  = 224,
  parameter SPAD_PSUM    = 24,
  // verilator lint_on UNUSEDPARAM
  parameter LD_WORDS     = 10,
  parameter CMP_WORDS    = 28,
  parameter ST_WORDS     = 11
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   start_i,
  input  logic [31:0]            n_ld_i,
  input  logic [31:0]            n_cmp_i,
  input  logic [31:0]            n_st_i,
  output logic                   busy_o,
  output logic                   done_o,
  output logic [2:0]             err_o,   // illegal command taken by LD (bit 0), CMP (1), ST (2)
  input  logic                   ld_cmd_valid_i,
  output logic                   ld_cmd_ready_o,
  input  logic [LD_WORDS*32-1:0]  ld_cmd_i,
  input  logic                   cmp_cmd_valid_i,
  output logic                   cmp_cmd_ready_o,
  input  logic [CMP_WORDS*32-1:0] cmp_cmd_i,
  input  logic                   st_cmd_valid_i,
  output logic                   st_cmd_ready_o,
  input  logic [ST_WORDS*32-1:0]  st_cmd_i,
  output logic                   rd_req_valid_o,
  input  logic                   rd_req_ready_i,
  output logic [31:0]            rd_req_addr_o,
  output logic [7:0]             rd_req_len_o,
  output logic [34:0]            rd_req_tag_o,
  input  logic                   rd_rsp_valid_i,
  input  logic [BPC*8-1:0]       rd_rsp_data_i,
  input  logic [34:0]            rd_rsp_tag_i,
  output logic                   rd_rsp_ready_o,
  output logic                   wr_valid_o,
  input  logic                   wr_ready_i,
  output logic [31:0]            wr_addr_o,
  output logic [7:0]             wr_len_o,
  output logic [BPC*8-1:0]       wr_data_o,
  input  logic                   wr_rsp_valid_i,
  output logic                   wr_rsp_ready_o,
  output logic [63:0]            cnt_cycles_o,
  output logic [63:0]            cnt_macs_o,
  output logic [63:0]            cnt_dram_rd_bytes_o,
  output logic [63:0]            cnt_dram_wr_bytes_o,
  output logic [63:0]            cnt_ifmap_wr_o,
  output logic [63:0]            cnt_ifmap_rd_o,
  output logic [63:0]            cnt_weight_wr_o,
  output logic [63:0]            cnt_weight_rd_o,
  output logic [63:0]            cnt_param_wr_o,
  output logic [63:0]            cnt_acc_rd_o,
  output logic [63:0]            cnt_acc_wr_o,
  output logic [63:0]            cnt_spad_ifmap_rd_o,   // rs scratchpads; 0 on ws
  output logic [63:0]            cnt_spad_ifmap_wr_o,
  output logic [63:0]            cnt_spad_filter_rd_o,
  output logic [63:0]            cnt_spad_filter_wr_o,
  output logic [63:0]            cnt_spad_psum_rd_o,
  output logic [63:0]            cnt_spad_psum_wr_o
);
  localparam IAW = $clog2(IFMAP_BYTES);
  localparam CAW = $clog2(ACC_ENTRIES);
  // The rs weight buffer (hdx_wbuf): WNB banks of PE_COLS-byte words; its addresses are word
  // * 2^WOB + byte. Word address bits WWA: more than the bank bits.
  localparam WBB    = PE_ROWS > 2 ? $clog2(PE_ROWS) : 1;
  localparam WNB    = 1 << WBB;
  localparam WOB    = $clog2(PE_COLS);
  localparam WWORDS = WEIGHT_BYTES / (PE_COLS * WNB) * WNB;
  localparam WWA    = $clog2(WWORDS) > WBB ? $clog2(WWORDS) : WBB + 1;
  // Weight buffer write addresses (bytes on ws, word and byte on rs) and their range.
  localparam WAW    = RS ? WWA + WOB : $clog2(WEIGHT_BYTES);
  localparam WSPAN  = RS ? WWORDS * (1 << WOB) : WEIGHT_BYTES;

  // ---------------------------------------------------------------- control
  logic        busy_q, done_q, finished;
  logic [63:0] cycles_q;
  logic [31:0] cnt_ld, cnt_cmp, cnt_st;
  logic [31:0] wr_out_q;  // write beats accepted and not yet acknowledged
  assign finished = cnt_ld == n_ld_i && cnt_cmp == n_cmp_i && cnt_st == n_st_i &&
                    wr_out_q == 32'd0;

  // Both response channels are always taken: the load engine writes each read response into
  // its buffer in the cycle it arrives, and a write response only decrements wr_out_q.
  assign rd_rsp_ready_o = 1'b1;
  assign wr_rsp_ready_o = 1'b1;
  logic wr_acc;
  assign wr_acc = wr_valid_o && wr_ready_i;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                          wr_out_q <= '0;
    else if (wr_acc && !wr_rsp_valid_i)   wr_out_q <= wr_out_q + 32'd1;
    else if (!wr_acc && wr_rsp_valid_i)   wr_out_q <= wr_out_q - 32'd1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q   <= 1'b0;
      done_q   <= 1'b0;
      cycles_q <= '0;
    end else if (start_i) begin
      busy_q   <= 1'b1;
      done_q   <= 1'b0;
      cycles_q <= '0;
    end else if (busy_q) begin
      cycles_q <= cycles_q + 64'd1;
      if (finished) begin
        busy_q <= 1'b0;
        done_q <= 1'b1;
      end
    end
  end
  assign busy_o       = busy_q;
  assign done_o       = done_q;
  assign cnt_cycles_o = cycles_q;

  // ---------------------------------------------------------------- load engine
  logic             bw_valid;
  logic [1:0]       bw_target;
  logic [23:0]      bw_addr;
  logic [7:0]       bw_len;
  logic [BPC*8-1:0] bw_data;

  hdx_ld #(
    .BPC(BPC), .WORDS(LD_WORDS), .IFMAP_BYTES(IFMAP_BYTES), .WEIGHT_BYTES(WSPAN),
    .WEIGHT_ROW(RS ? PE_COLS : 0), .WEIGHT_OB(WOB), .PARAM_BYTES(2 * PE_COLS * 9)
  ) u_ld (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .busy_i         (busy_q),
    .clear_i        (start_i),
    .cmd_valid_i    (ld_cmd_valid_i),
    .cmd_ready_o    (ld_cmd_ready_o),
    .cmd_i          (ld_cmd_i),
    .cnt_ld_i       (cnt_ld),
    .cnt_cmp_i      (cnt_cmp),
    .cnt_st_i       (cnt_st),
    .done_cnt_o     (cnt_ld),
    .err_o          (err_o[0]),
    .rd_req_valid_o (rd_req_valid_o),
    .rd_req_ready_i (rd_req_ready_i),
    .rd_req_addr_o  (rd_req_addr_o),
    .rd_req_len_o   (rd_req_len_o),
    .rd_req_tag_o   (rd_req_tag_o),
    .rd_rsp_valid_i (rd_rsp_valid_i),
    .rd_rsp_data_i  (rd_rsp_data_i),
    .rd_rsp_tag_i   (rd_rsp_tag_i),
    .bw_valid_o     (bw_valid),
    .bw_target_o    (bw_target),
    .bw_addr_o      (bw_addr),
    .bw_len_o       (bw_len),
    .bw_data_o      (bw_data),
    .ev_rd_bytes_o  (cnt_dram_rd_bytes_o),
    .ev_ifmap_wr_o  (cnt_ifmap_wr_o),
    .ev_weight_wr_o (cnt_weight_wr_o),
    .ev_param_wr_o  (cnt_param_wr_o)
  );

  // ---------------------------------------------------------------- buffers
  // The ifmap buffer: one byte per PE row and cycle, on SRAM banks (hdx_ibuf). The weight
  // buffer is the engine's: SRAM banks of weight-fold words on ws (hdx_buf), of weight-row
  // words read by each PE row on rs (hdx_wbuf).
  logic [PE_ROWS-1:0]     ib_re;
  logic [PE_ROWS*IAW-1:0] ib_raddr;
  logic [PE_ROWS*8-1:0]   ib_rdata;
  hdx_ibuf #(.BYTES(IFMAP_BYTES), .AW(IAW), .WB(BPC), .NRD(PE_ROWS)) u_ifmap_buf (
    .clk_i   (clk_i),
    .we_i    (bw_valid && bw_target == 2'd0),
    .waddr_i (bw_addr[IAW-1:0]),
    .wlen_i  (bw_len),
    .wdata_i (bw_data),
    .re_i    (ib_re),
    .raddr_i (ib_raddr),
    .rdata_o (ib_rdata)
  );

  logic                  acc_rq_valid, acc_rq_first, acc_rq_last, acc_wr_last, acc_re;
  logic [CAW-1:0]        acc_rq_addr, acc_raddr;
  logic [PE_COLS*32-1:0] acc_add, acc_rdata;

  hdx_acc #(.ENTRIES(ACC_ENTRIES), .AW(CAW), .LANES(PE_COLS)) u_acc (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .rq_valid_i (acc_rq_valid),
    .rq_first_i (acc_rq_first),
    .rq_last_i  (acc_rq_last),
    .rq_addr_i  (acc_rq_addr),
    .add_i      (acc_add),
    .wr_last_o  (acc_wr_last),
    .rd_en_i    (acc_re),
    .rd_addr_i  (acc_raddr),
    .rd_data_o  (acc_rdata)
  );

  // ---------------------------------------------------------------- compute engine
  logic [63:0] cmp_acc_rd, st_acc_rd;

  if (RS) begin : g_rs
    logic [63:0] spad_rd;
    logic [PE_ROWS-1:0]             wb_re;
    logic [PE_ROWS*WWA-1:0]         wb_raddr;
    logic [PE_ROWS*PE_COLS*8-1:0]   wb_rdata;
    hdx_wbuf #(.WORDS(WWORDS), .AW(WWA), .COLS(PE_COLS), .OB(WOB), .BPC(BPC), .NRD(PE_ROWS))
        u_weight_buf (
      .clk_i   (clk_i),
      .we_i    (bw_valid && bw_target == 2'd1),
      .waddr_i (bw_addr[WAW-1:0]),
      .wlen_i  (bw_len),
      .wdata_i (bw_data),
      .re_i    (wb_re),
      .raddr_i (wb_raddr),
      .rdata_o (wb_rdata)
    );
    hdx_rs_cmp #(
      .ROWS(PE_ROWS), .COLS(PE_COLS), .SI(SPAD_IFMAP), .SF(SPAD_FILTER), .SP(SPAD_PSUM),
      .WORDS(CMP_WORDS), .IAW(IAW), .WAW(WWA), .CAW(CAW), .ACC(ACC_ENTRIES)
    ) u_cmp (
      .clk_i               (clk_i),
      .rst_ni              (rst_ni),
      .busy_i              (busy_q),
      .clear_i             (start_i),
      .cmd_valid_i         (cmp_cmd_valid_i),
      .cmd_ready_o         (cmp_cmd_ready_o),
      .cmd_i               (cmp_cmd_i),
      .cnt_ld_i            (cnt_ld),
      .cnt_st_i            (cnt_st),
      .done_cnt_o          (cnt_cmp),
      .err_o               (err_o[1]),
      .wb_re_o             (wb_re),
      .wb_raddr_o          (wb_raddr),
      .ib_re_o             (ib_re),
      .wb_rdata_i          (wb_rdata),
      .ib_raddr_o          (ib_raddr),
      .ib_rdata_i          (ib_rdata),
      .acc_rq_valid_o      (acc_rq_valid),
      .acc_rq_first_o      (acc_rq_first),
      .acc_rq_last_o       (acc_rq_last),
      .acc_rq_addr_o       (acc_rq_addr),
      .acc_add_o           (acc_add),
      .acc_wr_last_i       (acc_wr_last),
      .ev_macs_o           (cnt_macs_o),
      .ev_ifmap_rd_o       (cnt_ifmap_rd_o),
      .ev_weight_rd_o      (cnt_weight_rd_o),
      .ev_acc_rd_o         (cmp_acc_rd),
      .ev_acc_wr_o         (cnt_acc_wr_o),
      .ev_spad_ifmap_wr_o  (cnt_spad_ifmap_wr_o),
      .ev_spad_filter_wr_o (cnt_spad_filter_wr_o),
      .ev_spad_rd_o        (spad_rd)
    );
    // Every MAC reads its ifmap and filter entries and reads and writes its psum.
    assign cnt_spad_ifmap_rd_o  = spad_rd;
    assign cnt_spad_filter_rd_o = spad_rd;
    assign cnt_spad_psum_rd_o   = spad_rd;
    assign cnt_spad_psum_wr_o   = spad_rd;
  end else begin : g_ws
    logic                 wb_re;
    logic [WAW-1:0]       wb_raddr;
    logic [PE_COLS*8-1:0] wb_rdata;
    hdx_buf #(.BYTES(WEIGHT_BYTES), .AW(WAW), .WB(BPC), .RB(PE_COLS)) u_weight_buf (
      .clk_i   (clk_i),
      .we_i    (bw_valid && bw_target == 2'd1),
      .waddr_i (bw_addr[WAW-1:0]),
      .wlen_i  (bw_len),
      .wdata_i (bw_data),
      .re_i    (wb_re),
      .raddr_i (wb_raddr),
      .rdata_o (wb_rdata)
    );
    hdx_ws_cmp #(
      .ROWS(PE_ROWS), .COLS(PE_COLS), .WORDS(CMP_WORDS), .IAW(IAW), .WAW(WAW), .CAW(CAW), .ACC(ACC_ENTRIES)
    ) u_cmp (
      .clk_i          (clk_i),
      .rst_ni         (rst_ni),
      .busy_i         (busy_q),
      .clear_i        (start_i),
      .cmd_valid_i    (cmp_cmd_valid_i),
      .cmd_ready_o    (cmp_cmd_ready_o),
      .cmd_i          (cmp_cmd_i),
      .cnt_ld_i       (cnt_ld),
      .cnt_st_i       (cnt_st),
      .done_cnt_o     (cnt_cmp),
      .err_o          (err_o[1]),
      .wb_re_o        (wb_re),
      .ib_re_o        (ib_re),
      .wb_raddr_o     (wb_raddr),
      .wb_rdata_i     (wb_rdata),
      .ib_raddr_o     (ib_raddr),
      .ib_rdata_i     (ib_rdata),
      .acc_rq_valid_o (acc_rq_valid),
      .acc_rq_first_o (acc_rq_first),
      .acc_rq_last_o  (acc_rq_last),
      .acc_rq_addr_o  (acc_rq_addr),
      .acc_add_o      (acc_add),
      .acc_wr_last_i  (acc_wr_last),
      .ev_macs_o      (cnt_macs_o),
      .ev_ifmap_rd_o  (cnt_ifmap_rd_o),
      .ev_weight_rd_o (cnt_weight_rd_o),
      .ev_acc_rd_o    (cmp_acc_rd),
      .ev_acc_wr_o    (cnt_acc_wr_o)
    );
    assign {cnt_spad_ifmap_rd_o, cnt_spad_ifmap_wr_o, cnt_spad_filter_rd_o,
            cnt_spad_filter_wr_o, cnt_spad_psum_rd_o, cnt_spad_psum_wr_o} = '0;
  end

  // ---------------------------------------------------------------- store engine
  hdx_st #(.COLS(PE_COLS), .BPC(BPC), .WORDS(ST_WORDS), .CAW(CAW), .ACC(ACC_ENTRIES)) u_st (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .busy_i        (busy_q),
    .clear_i       (start_i),
    .cmd_valid_i   (st_cmd_valid_i),
    .cmd_ready_o   (st_cmd_ready_o),
    .cmd_i         (st_cmd_i),
    .cnt_ld_i      (cnt_ld),
    .cnt_cmp_i     (cnt_cmp),
    .done_cnt_o    (cnt_st),
    .err_o         (err_o[2]),
    .pw_valid_i    (bw_valid && bw_target == 2'd2),
    .pw_addr_i     (bw_addr),
    .pw_len_i      (bw_len),
    .pw_data_i     (bw_data),
    .acc_re_o      (acc_re),
    .acc_raddr_o   (acc_raddr),
    .acc_rdata_i   (acc_rdata),
    .wr_valid_o    (wr_valid_o),
    .wr_ready_i    (wr_ready_i),
    .wr_addr_o     (wr_addr_o),
    .wr_len_o      (wr_len_o),
    .wr_data_o     (wr_data_o),
    .ev_acc_rd_o   (st_acc_rd),
    .ev_wr_bytes_o (cnt_dram_wr_bytes_o)
  );

  assign cnt_acc_rd_o = cmp_acc_rd + st_acc_rd;

  // ---------------------------------------------------------------- assertions
  // Handshake and counter rules, checked by the simulators (Verilator with --assert, Icarus);
  // synthesis skips them. Each message starts with the rule's name.
`ifndef SYNTHESIS
  logic [LD_WORDS*32-1:0]  ld_cmd_q;
  logic [CMP_WORDS*32-1:0] cmp_cmd_q;
  logic [ST_WORDS*32-1:0]  st_cmd_q;
  logic [31:0]             rd_addr_q, wr_addr_q;
  logic [7:0]              rd_len_q, wr_len_q;
  logic [34:0]             rd_tag_q;
  logic [BPC*8-1:0]        wr_data_q;
  logic ld_wait_q, cmp_wait_q, st_wait_q, rd_wait_q, wr_wait_q, started_q;
  logic [17*64+3*32-1:0]   cnt_q, cnt;
  assign cnt = {cnt_cycles_o, cnt_macs_o, cnt_dram_rd_bytes_o, cnt_dram_wr_bytes_o,
                cnt_ifmap_wr_o, cnt_ifmap_rd_o, cnt_weight_wr_o, cnt_weight_rd_o,
                cnt_param_wr_o, cnt_acc_rd_o, cnt_acc_wr_o, cnt_spad_ifmap_rd_o,
                cnt_spad_ifmap_wr_o, cnt_spad_filter_rd_o, cnt_spad_filter_wr_o,
                cnt_spad_psum_rd_o, cnt_spad_psum_wr_o, cnt_ld, cnt_cmp, cnt_st};
  // One vector: Icarus 11's $isunknown misreads a concatenation.
  logic [9:0] ctl;
  assign ctl = {busy_o, done_o, err_o, ld_cmd_ready_o, cmp_cmd_ready_o, st_cmd_ready_o,
                rd_req_valid_o, wr_valid_o};
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {ld_wait_q, cmp_wait_q, st_wait_q, rd_wait_q, wr_wait_q, started_q} <= '0;
    end else begin
      assert (!$isunknown(ctl))
        else $error("hdx_core.control_known: a valid, ready, busy, done or err output is X");
      // Valid and payload hold until ready, on the host's streams and on the DRAM's (checked
      // in the cycle after a stall only, so that the wide compares run only then).
      if (ld_wait_q) begin
        assert (ld_cmd_valid_i && ld_cmd_i == ld_cmd_q)
          else $error("hdx_core.ld_cmd_hold: LD command withdrawn or changed before ready");
      end
      if (cmp_wait_q) begin
        assert (cmp_cmd_valid_i && cmp_cmd_i == cmp_cmd_q)
          else $error("hdx_core.cmp_cmd_hold: CMP command withdrawn or changed before ready");
      end
      if (st_wait_q) begin
        assert (st_cmd_valid_i && st_cmd_i == st_cmd_q)
          else $error("hdx_core.st_cmd_hold: ST command withdrawn or changed before ready");
      end
      if (rd_wait_q) begin
        assert (rd_req_valid_o && rd_req_addr_o == rd_addr_q && rd_req_len_o == rd_len_q &&
                rd_req_tag_o == rd_tag_q)
          else $error("hdx_core.rd_req_hold: read request withdrawn or changed before ready");
      end
      if (wr_wait_q) begin
        assert (wr_valid_o && wr_addr_o == wr_addr_q && wr_len_o == wr_len_q &&
                wr_data_o == wr_data_q)
          else $error("hdx_core.wr_hold: write beat withdrawn or changed before ready");
      end
      assert (!wr_rsp_valid_i || wr_out_q != 32'd0 || wr_acc)
        else $error("hdx_core.wr_rsp_expected: write response with no write outstanding");
      assert (!rd_req_valid_o || rd_req_len_o != 8'd0)
        else $error("hdx_core.rd_req_len: read request of 0 bytes");
      // Counters never decrease within a run (start clears them).
      if (started_q)
        for (int k = 0; k < 20; k++)
          assert (k < 17 ? cnt[k*64 +: 64] >= cnt_q[k*64 +: 64]
                         : cnt[17*64 + (k-17)*32 +: 32] >= cnt_q[17*64 + (k-17)*32 +: 32])
            else $error("hdx_core.counter_monotonic: counter %0d decreased", k);
      ld_wait_q  <= ld_cmd_valid_i && !ld_cmd_ready_o;
      cmp_wait_q <= cmp_cmd_valid_i && !cmp_cmd_ready_o;
      st_wait_q  <= st_cmd_valid_i && !st_cmd_ready_o;
      rd_wait_q  <= rd_req_valid_o && !rd_req_ready_i;
      wr_wait_q  <= wr_valid_o && !wr_ready_i;
      started_q  <= started_q || start_i;
    end
  end
  always @(posedge clk_i) begin
    ld_cmd_q  <= ld_cmd_i;
    cmp_cmd_q <= cmp_cmd_i;
    st_cmd_q  <= st_cmd_i;
    rd_addr_q <= rd_req_addr_o;
    rd_len_q  <= rd_req_len_o;
    rd_tag_q  <= rd_req_tag_o;
    wr_addr_q <= wr_addr_o;
    wr_len_q  <= wr_len_o;
    wr_data_q <= wr_data_o;
    cnt_q     <= start_i ? '0 : cnt;  // start clears the counters
  end
`endif
endmodule
