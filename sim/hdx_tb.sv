// 4-state testbench of one generated accelerator for Icarus Verilog (hdx sim --simulator
// icarus). It is the Verilog twin of sim/sim_main.cpp: the same job (three command streams
// and a DRAM image, as text written by sim/icarus.cpp), the same cycle-by-cycle DRAM model
// and the same result, so both simulators must report the same outputs, cycles and events.
// On top of that it checks 4-state cleanliness: an X or Z on a handshake or done signal, on
// a payload while its valid is high, or on a counter at the end fails the layer, naming the
// signal and the cycle. Payloads are driven to X while their valid is low.
// Built by hdx per job with -DHDX_TOP=<top> -DHDX_BPC=.. -DHDX_LD_W=.. -DHDX_CMP_W=..
// -DHDX_ST_W=..; not a user-facing file.
`timescale 1ns / 1ps
// X or Z anywhere in v: its XOR reduction is then X (Icarus 11's $isunknown misreads wide
// concatenations).
`define HDX_XZ(v) xz(^(v))
module hdx_tb;
  localparam BPC = `HDX_BPC;
  localparam LDW = `HDX_LD_W;
  localparam CMW = `HDX_CMP_W;
  localparam STW = `HDX_ST_W;

  logic                clk, rst_n, start;
  logic [31:0]         n_ld, n_cmp, n_st;
  logic                busy, done;
  logic [2:0]          err;
  logic                ld_valid, ld_ready, cmp_valid, cmp_ready, st_valid, st_ready;
  logic [LDW*32-1:0]   ld_cmd;
  logic [CMW*32-1:0]   cmp_cmd;
  logic [STW*32-1:0]   st_cmd;
  logic                rd_req_valid, rd_req_ready, rd_rsp_valid, rd_rsp_ready;
  logic                wr_rsp_valid, wr_rsp_ready;
  logic [31:0]         rd_req_addr;
  logic [7:0]          rd_req_len;
  logic [34:0]         rd_req_tag, rd_rsp_tag;
  logic [BPC*8-1:0]    rd_rsp_data;
  logic                wr_valid, wr_ready;
  logic [31:0]         wr_addr;
  logic [7:0]          wr_len;
  logic [BPC*8-1:0]    wr_data;
  logic [17*64-1:0]    cnt;

  `HDX_TOP u_dut (
    .clk_i                (clk),
    .rst_ni               (rst_n),
    .start_i              (start),
    .n_ld_i               (n_ld),
    .n_cmp_i              (n_cmp),
    .n_st_i               (n_st),
    .busy_o               (busy),
    .done_o               (done),
    .err_o                (err),
    .ld_cmd_valid_i       (ld_valid),
    .ld_cmd_ready_o       (ld_ready),
    .ld_cmd_i             (ld_cmd),
    .cmp_cmd_valid_i      (cmp_valid),
    .cmp_cmd_ready_o      (cmp_ready),
    .cmp_cmd_i            (cmp_cmd),
    .st_cmd_valid_i       (st_valid),
    .st_cmd_ready_o       (st_ready),
    .st_cmd_i             (st_cmd),
    .rd_req_valid_o       (rd_req_valid),
    .rd_req_ready_i       (rd_req_ready),
    .rd_req_addr_o        (rd_req_addr),
    .rd_req_len_o         (rd_req_len),
    .rd_req_tag_o         (rd_req_tag),
    .rd_rsp_valid_i       (rd_rsp_valid),
    .rd_rsp_data_i        (rd_rsp_data),
    .rd_rsp_tag_i         (rd_rsp_tag),
    .rd_rsp_ready_o       (rd_rsp_ready),
    .wr_valid_o           (wr_valid),
    .wr_ready_i           (wr_ready),
    .wr_addr_o            (wr_addr),
    .wr_len_o             (wr_len),
    .wr_data_o            (wr_data),
    .wr_rsp_valid_i       (wr_rsp_valid),
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

  // The job: DRAM as 32-bit little-endian words.
  logic [31:0] ld_m[], cmp_m[], st_m[], dram_m[];
  // Read responses in flight: due cycle, tag, data.
  logic [63:0]      due_q[$];
  logic [34:0]      tag_q[$];
  logic [BPC*8-1:0] data_q[$];
  logic [63:0]      ack_q[$];  // due cycles of write responses

  string       dir, msg;
  integer      fd, rc, k, status;
  longint      latency, max_cycles, cycle, dram_bytes, out_addr, out_bytes, a;
  longint      n_ldw, n_cmpw, n_stw, n_dramw;
  logic [63:0] bp, rng;
  logic [3:0]  hold;
  logic        ack_now, rsp_offered, ack_offered, h;
  logic [31:0] w;
  logic [63:0] due;
  logic [34:0] tag;
  logic [BPC*8-1:0] data;
  logic        started, rsp_now, running;
  integer      i_ld, i_cmp, i_st;

  function automatic logic xz(input logic b);
    xz = b !== 1'b0 && b !== 1'b1;
  endfunction

  // xorshift64* (Vigna), the same sequence as sim/sim_main.cpp: true with probability bp/2^53.
  task automatic draw(output logic hit);
    rng = rng ^ (rng >> 12);
    rng = rng ^ (rng << 25);
    rng = rng ^ (rng >> 27);
    hit = ((rng * 64'h2545F4914F6CDD1D) >> 11) < bp;
  endtask

  function automatic [7:0] dram_byte(input longint addr);
    logic [31:0] word;
    word = dram_m[addr >> 2];
    dram_byte = word[(addr & 3) * 8 +: 8];
  endfunction

  task automatic set_byte(input longint addr, input [7:0] b);
    logic [31:0] word;
    word = dram_m[addr >> 2];
    word[(addr & 3) * 8 +: 8] = b;
    dram_m[addr >> 2] = word;
  endtask

  task automatic read_words(input integer f, input longint n, inout logic [31:0] m[]);
    m = new[n];
    for (longint j = 0; j < n; j++) begin
      rc = $fscanf(f, "%h", w);
      m[j] = w;
    end
  endtask

  // The first X/Z seen fails the run (status 3).
  task automatic check(input logic bad, input string what);
    if (status == 0 && bad) begin
      status = 3;
      msg = $sformatf("X or Z on %s in cycle %0d", what, cycle);
    end
  endtask

  initial begin
    status = 0;
    msg = "";
    if (!$value$plusargs("dir=%s", dir)) begin
      $display("hdx_tb: +dir=JOBDIR missing");
      $finish;
    end
    fd = $fopen({dir, "/job.txt"}, "r");
    if (fd == 0) begin
      $display("hdx_tb: cannot read %s/job.txt", dir);
      $finish;
    end
    rc = $fscanf(fd, "%d %d %d %d %d %d %d %d %d %d %d", latency, bp, rng, max_cycles, n_ldw,
                 n_cmpw, n_stw, dram_bytes, out_addr, out_bytes, n_dramw);
    rng = rng | 64'd1;
    read_words(fd, n_ldw, ld_m);
    read_words(fd, n_cmpw, cmp_m);
    read_words(fd, n_stw, st_m);
    read_words(fd, n_dramw, dram_m);
    $fclose(fd);

    // Reset, then configure and start (cycle 0 of the count is the start cycle).
    clk = 0;
    rst_n = 0;
    start = 0;
    ld_valid = 0;
    cmp_valid = 0;
    st_valid = 0;
    rd_rsp_valid = 0;
    wr_rsp_valid = 0;
    rsp_offered = 0;
    ack_offered = 0;
    #1;
    rst_n = 1;
    #1;
    n_ld = n_ldw / LDW;
    n_cmp = n_cmpw / CMW;
    n_st = n_stw / STW;
    i_ld = 0;
    i_cmp = 0;
    i_st = 0;
    started = 0;
    running = 1;
    cycle = 0;
    // One iteration per cycle; Icarus 11 has no break, so a failure clears `running`.
    while (running) begin
      hold = '0;
      if (bp != 0)
        for (k = 0; k < 4; k++) begin
          draw(h);
          hold[k] = h;
        end
      start = !started;
      rd_req_ready = !hold[0];
      wr_ready = !hold[1];
      ld_valid = i_ld < n_ld;
      ld_cmd = 'x;
      if (ld_valid) for (k = 0; k < LDW; k++) ld_cmd[k*32 +: 32] = ld_m[i_ld * LDW + k];
      cmp_valid = i_cmp < n_cmp;
      cmp_cmd = 'x;
      if (cmp_valid) for (k = 0; k < CMW; k++) cmp_cmd[k*32 +: 32] = cmp_m[i_cmp * CMW + k];
      st_valid = i_st < n_st;
      st_cmd = 'x;
      if (st_valid) for (k = 0; k < STW; k++) st_cmd[k*32 +: 32] = st_m[i_st * STW + k];
      // A response once offered stays offered until taken; only a fresh one is held back.
      // (Icarus 11 reads [0] of an empty queue badly, hence the size tests first.)
      rsp_now = 0;
      if (due_q.size() > 0) rsp_now = due_q[0] <= cycle && (rsp_offered || !hold[2]);
      ack_now = 0;
      if (ack_q.size() > 0) ack_now = ack_q[0] <= cycle && (ack_offered || !hold[3]);
      wr_rsp_valid = ack_now;
      rd_rsp_valid = rsp_now;
      rd_rsp_data = 'x;
      rd_rsp_tag = 'x;
      if (rsp_now) begin
        rd_rsp_data = data_q[0];
        rd_rsp_tag = tag_q[0];
      end
      #1;

      check(`HDX_XZ({busy, done, ld_ready, cmp_ready, st_ready, rd_req_valid, wr_valid,
                     rd_rsp_ready, wr_rsp_ready}),
            "busy_o, done_o, a command ready, a DRAM valid or a response ready");
      if (rd_req_valid === 1'b1)
        check(`HDX_XZ({rd_req_addr, rd_req_len, rd_req_tag}), $sformatf("the read request payload (addr %h len %h tag %h)", rd_req_addr, rd_req_len, rd_req_tag));
      if (wr_valid === 1'b1) begin
        check(`HDX_XZ({wr_addr, wr_len}), "wr_addr_o or wr_len_o");
        for (k = 0; k < BPC; k++)
          if (k < wr_len) check(`HDX_XZ(wr_data[k*8 +: 8]), $sformatf("wr_data_o byte %0d", k));
      end
      if (status == 0) begin
        // Handshakes that the coming edge completes.
        if (ld_valid && ld_ready) i_ld++;
        if (cmp_valid && cmp_ready) i_cmp++;
        if (st_valid && st_ready) i_st++;
        rsp_offered = rsp_now && !rd_rsp_ready;
        if (rsp_now && rd_rsp_ready) begin
          due = due_q.pop_front();
          tag = tag_q.pop_front();
          data = data_q.pop_front();
        end
        ack_offered = ack_now && !wr_rsp_ready;
        if (ack_now && wr_rsp_ready) due = ack_q.pop_front();
        if (rd_req_valid && rd_req_ready) begin
          a = rd_req_addr;
          if (a + rd_req_len > dram_bytes) begin
            status = 2;
            msg = $sformatf("read of %0d bytes at DRAM address %0d beyond the image of %0d",
                            rd_req_len, a, dram_bytes);
          end else begin
            data = '0;
            for (k = 0; k < BPC; k++) if (k < rd_req_len) data[k*8 +: 8] = dram_byte(a + k);
            due_q.push_back(cycle + 1 + latency);
            tag_q.push_back(rd_req_tag);
            data_q.push_back(data);
          end
        end
        if (wr_valid && wr_ready) begin
          a = wr_addr;
          if (a + wr_len > dram_bytes) begin
            status = 2;
            msg = $sformatf("write of %0d bytes at DRAM address %0d beyond the image of %0d",
                            wr_len, a, dram_bytes);
          end else begin
            for (k = 0; k < BPC; k++) if (k < wr_len) set_byte(a + k, wr_data[k*8 +: 8]);
            ack_q.push_back(cycle + 1 + latency);
          end
        end
      end
      if (status == 0) begin
        clk = 1;
        #1;
        clk = 0;
        #1;
        started = 1;
        check(`HDX_XZ({done, err}), "done_o or err_o");
        if (status == 0 && err != 3'b000) begin
          status = 5;
          msg = $sformatf({"illegal command: the%s%s%s engine flagged an illegal command in ",
                           "cycle %0d; commands taken: ld %0d, cmp %0d, st %0d"},
                          err[0] ? " LD" : "", err[1] ? " CMP" : "", err[2] ? " ST" : "", cycle,
                          i_ld, i_cmp, i_st);
        end
      end
      if (status != 0 || done === 1'b1) begin
        running = 0;
      end else if (cycle >= max_cycles) begin
        status = 1;
        msg = $sformatf({"done never rose within %0d cycles; commands taken: ld %0d/%0d, ",
                         "cmp %0d/%0d, st %0d/%0d"}, max_cycles, i_ld, n_ld, i_cmp, n_cmp,
                        i_st, n_st);
        running = 0;
      end else begin
        cycle++;
      end
    end
    for (k = 0; k < 17; k++) check(`HDX_XZ(cnt[k*64 +: 64]), $sformatf("event counter %0d", k));

    fd = $fopen({dir, "/result.txt"}, "w");
    $fwrite(fd, "%0d %0d\n", status, cycle + 1);
    for (k = 0; k < 17; k++) $fwrite(fd, "%0d\n", cnt[k*64 +: 64]);
    for (a = out_addr; a < out_addr + out_bytes; a++) $fwrite(fd, "%h\n", dram_byte(a));
    $fwrite(fd, "%s\n", msg);
    $fclose(fd);
    $finish;
  end
endmodule
