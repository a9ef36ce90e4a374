// Load engine: copies `rows` rows of `row_len` bytes from DRAM into the ifmap, weight or
// param buffer, one request of up to BPC bytes per cycle. Each request carries a tag (last,
// target, length, buffer address) that the memory returns with its data, so requests of
// consecutive commands stream back to back whatever the latency.
//
// Illegal commands (err_o, sticky until clear_i; the engine then takes no further command):
// zero rows or row length, a target other than 0..2, or a beat that would write past the end
// of its buffer or, in a buffer of words (the rs weight buffer), past the end of its word
// (checked per beat, before it is requested).
module hdx_ld #(
  parameter BPC          = 8,
  parameter WORDS        = 10,
  parameter IFMAP_BYTES  = 1024,
  parameter WEIGHT_BYTES = 1024,  // the weight buffer's address range
  // A weight buffer of words (rs): bytes per word, and the byte bits of an address (word *
  // 2^WEIGHT_OB + byte). 0: byte addresses.
  parameter WEIGHT_ROW   = 0,
  parameter WEIGHT_OB    = 1,
  parameter PARAM_BYTES  = 72
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               busy_i,
  input  logic               clear_i,
  // command stream
  input  logic               cmd_valid_i,
  output logic               cmd_ready_o,
  input  logic [WORDS*32-1:0] cmd_i,
  // completed-command counts of the three engines (waits)
  input  logic [31:0]        cnt_ld_i,
  input  logic [31:0]        cnt_cmp_i,
  input  logic [31:0]        cnt_st_i,
  output logic [31:0]        done_cnt_o,
  output logic               err_o,
  // DRAM read channel
  output logic               rd_req_valid_o,
  input  logic               rd_req_ready_i,
  output logic [31:0]        rd_req_addr_o,
  output logic [7:0]         rd_req_len_o,
  output logic [34:0]        rd_req_tag_o,
  input  logic               rd_rsp_valid_i,
  input  logic [BPC*8-1:0]   rd_rsp_data_i,
  input  logic [34:0]        rd_rsp_tag_i,
  // buffer write port
  output logic               bw_valid_o,
  output logic [1:0]         bw_target_o,
  output logic [23:0]        bw_addr_o,
  output logic [7:0]         bw_len_o,
  output logic [BPC*8-1:0]   bw_data_o,
  // events
  output logic [63:0]        ev_rd_bytes_o,
  output logic [63:0]        ev_ifmap_wr_o,
  output logic [63:0]        ev_weight_wr_o,
  output logic [63:0]        ev_param_wr_o
);
  `include "hdx_ld_cmd.vh"

  // verilator lint_off UNUSEDSIGNAL
  // Command words are 32 bits wide; the upper bits of TARGET and DST_* are not used.
  logic [WORDS*32-1:0] cmd_q;
  // verilator lint_on UNUSEDSIGNAL
  logic        cur_valid_q;
  logic [31:0] addr_q, row_addr_q, rows_left_q, rem_q;
  logic [23:0] dst_q, row_dst_q;

  logic [31:0] wait_ld, wait_cmp, wait_st, row_len, src_stride;
  logic [23:0] dst_stride;
  logic [1:0]  target;
  assign wait_ld    = cmd_q[LD_WAIT_LD*32 +: 32];
  assign wait_cmp   = cmd_q[LD_WAIT_CMP*32 +: 32];
  assign wait_st    = cmd_q[LD_WAIT_ST*32 +: 32];
  assign target     = cmd_q[LD_TARGET*32 +: 2];
  assign row_len    = cmd_q[LD_ROW_LEN*32 +: 32];
  assign src_stride = cmd_q[LD_SRC_STRIDE*32 +: 32];
  assign dst_stride = cmd_q[LD_DST_STRIDE*32 +: 24];

  localparam [31:0] Bpc = BPC;

  logic deps_ok, fire, row_end, cmd_end, bad_cmd, bad_beat, err_q;
  assign deps_ok = cnt_ld_i >= wait_ld && cnt_cmp_i >= wait_cmp && cnt_st_i >= wait_st;
  assign rd_req_valid_o = cur_valid_q && deps_ok && !bad_beat;
  assign fire    = rd_req_valid_o && rd_req_ready_i;
  assign row_end = rem_q <= Bpc;
  assign cmd_end = row_end && rows_left_q == 32'd1;
  assign cmd_ready_o = busy_i && !err_q && (!cur_valid_q || (fire && cmd_end));
  assign bad_cmd = cmd_i[LD_ROWS*32 +: 32] == 32'd0 || cmd_i[LD_ROW_LEN*32 +: 32] == 32'd0 ||
                   cmd_i[LD_TARGET*32 +: 32] > 32'd2;

  logic [7:0] len;
  assign len = row_end ? rem_q[7:0] : Bpc[7:0];
  // The beat's last byte must lie inside its buffer.
  localparam integer IfmapI = IFMAP_BYTES, WeightI = WEIGHT_BYTES, ParamI = PARAM_BYTES;
  localparam [24:0] IfmapEnd = IfmapI[24:0], WeightEnd = WeightI[24:0], ParamEnd = ParamI[24:0];
  logic [24:0] beat_end, buf_end;
  assign beat_end = {1'b0, dst_q} + {17'd0, len};
  assign buf_end  = target == 2'd0 ? IfmapEnd : target == 2'd1 ? WeightEnd : ParamEnd;
  logic bad_word;
  if (WEIGHT_ROW > 0) begin : g_word
    localparam integer RowI = WEIGHT_ROW;
    localparam [8:0] Row = RowI[8:0];
    assign bad_word = target == 2'd1 &&
                      {{(9-WEIGHT_OB){1'b0}}, dst_q[WEIGHT_OB-1:0]} + {1'b0, len} > Row;
  end else begin : g_bytes
    assign bad_word = 1'b0;
  end
  assign bad_beat = cur_valid_q && (beat_end > buf_end || bad_word);
  assign rd_req_addr_o = addr_q;
  assign rd_req_len_o  = len;
  assign rd_req_tag_o  = {cmd_end, target, len, dst_q};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cur_valid_q <= 1'b0;
      cmd_q       <= '0;
      addr_q      <= '0;
      row_addr_q  <= '0;
      rows_left_q <= '0;
      rem_q       <= '0;
      dst_q       <= '0;
      row_dst_q   <= '0;
    end else begin
      if (fire) begin
        if (row_end) begin
          rows_left_q <= rows_left_q - 32'd1;
          rem_q       <= row_len;
          addr_q      <= row_addr_q + src_stride;
          row_addr_q  <= row_addr_q + src_stride;
          dst_q       <= row_dst_q + dst_stride;
          row_dst_q   <= row_dst_q + dst_stride;
          if (cmd_end) cur_valid_q <= 1'b0;
        end else begin
          rem_q  <= rem_q - Bpc;
          addr_q <= addr_q + Bpc;
          dst_q  <= dst_q + Bpc[23:0];
        end
      end
      if (cmd_ready_o && cmd_valid_i && !bad_cmd) begin
        cur_valid_q <= 1'b1;
        cmd_q       <= cmd_i;
        addr_q      <= cmd_i[LD_DRAM_ADDR*32 +: 32];
        row_addr_q  <= cmd_i[LD_DRAM_ADDR*32 +: 32];
        rows_left_q <= cmd_i[LD_ROWS*32 +: 32];
        rem_q       <= cmd_i[LD_ROW_LEN*32 +: 32];
        dst_q       <= cmd_i[LD_DST_ADDR*32 +: 24];
        row_dst_q   <= cmd_i[LD_DST_ADDR*32 +: 24];
      end
    end
  end

  // Response side: write the returned bytes where the tag says.
  logic        rsp_last;
  logic [1:0]  rsp_target;
  logic [7:0]  rsp_len;
  assign {rsp_last, rsp_target, rsp_len, bw_addr_o} = rd_rsp_tag_i;
  assign bw_valid_o  = rd_rsp_valid_i;
  assign bw_target_o = rsp_target;
  assign bw_len_o    = rsp_len;
  assign bw_data_o   = rd_rsp_data_i;

  // The error flag: set by an illegal command or beat, cleared by start.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)      err_q <= 1'b0;
    else if (clear_i) err_q <= 1'b0;
    else if ((cmd_ready_o && cmd_valid_i && bad_cmd) || (deps_ok && bad_beat)) err_q <= 1'b1;
  end
  assign err_o = err_q;

  logic [31:0] done_q;
  logic [63:0] rd_bytes_q, ifmap_wr_q, weight_wr_q, param_wr_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      done_q      <= '0;
      rd_bytes_q  <= '0;
      ifmap_wr_q  <= '0;
      weight_wr_q <= '0;
      param_wr_q  <= '0;
    end else if (clear_i) begin
      done_q      <= '0;
      rd_bytes_q  <= '0;
      ifmap_wr_q  <= '0;
      weight_wr_q <= '0;
      param_wr_q  <= '0;
    end else if (rd_rsp_valid_i) begin
      if (rsp_last) done_q <= done_q + 32'd1;
      rd_bytes_q <= rd_bytes_q + {56'd0, rsp_len};
      case (rsp_target)
        2'd0:    ifmap_wr_q  <= ifmap_wr_q + {56'd0, rsp_len};
        2'd1:    weight_wr_q <= weight_wr_q + {56'd0, rsp_len};
        default: param_wr_q  <= param_wr_q + {56'd0, rsp_len};
      endcase
    end
  end
  assign done_cnt_o     = done_q;
  assign ev_rd_bytes_o  = rd_bytes_q;
  assign ev_ifmap_wr_o  = ifmap_wr_q;
  assign ev_weight_wr_o = weight_wr_q;
  assign ev_param_wr_o  = param_wr_q;
endmodule
