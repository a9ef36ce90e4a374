// Byte-addressed buffer on NB one-byte-wide SRAM banks (hdx_sram_2p), for a buffer that NRD
// lanes read at independent addresses: one write of up to WB consecutive bytes per cycle at
// any byte address (from the load engine), and per lane one byte per cycle, with the data in
// the cycle after re_i[lane] (synchronous read).
//
// Byte a lives in bank a mod NB, row a / NB (NB the power of two >= WB and NRD; both are bit
// fields of the address). A write's bytes fall in distinct banks. The lanes of one cycle must
// read distinct banks: the schedule lays out the data so that they do (docs/architecture.md,
// "Memories"), and the simulation model flags a conflict. A crossbar routes each lane's row
// to its bank and the bank's byte back to the lane.
module hdx_ibuf #(
  parameter BYTES = 1024,
  parameter AW    = 10,
  parameter WB    = 8,
  parameter NRD   = 4
) (
  input  logic             clk_i,
  input  logic             we_i,
  input  logic [AW-1:0]    waddr_i,
  input  logic [7:0]       wlen_i,
  input  logic [WB*8-1:0]  wdata_i,
  input  logic [NRD-1:0]   re_i,
  input  logic [NRD*AW-1:0] raddr_i,
  output logic [NRD*8-1:0] rdata_o
);
  localparam integer MaxB = WB > NRD ? WB : NRD;
  localparam BW    = MaxB > 1 ? $clog2(MaxB) : 1;  // bank bits
  localparam NB    = 1 << BW;                      // banks
  localparam DEPTH = (BYTES + NB - 1) / NB;
  localparam RW    = AW > BW ? AW - BW : 1;        // row bits

  logic [NB*8-1:0]  bank_rd;
  logic [NRD*BW-1:0] lane_bank_q;
  logic [NB-1:0]     conflict;  // read only by the simulation model's check

  for (genvar j = 0; j < NB; j++) begin : g_bank
    localparam [BW-1:0] J = j;
    // Write: bank j takes byte (j - waddr) mod NB of the write, if the write has it.
    logic [BW-1:0] wi;
    // verilator lint_off UNUSEDSIGNAL
    // The byte's address; its bank bits are j.
    logic [AW-1:0] wa;
    // verilator lint_on UNUSEDSIGNAL
    logic [7:0]    wbyte;
    logic          wen;
    assign wi  = J - waddr_i[BW-1:0];
    assign wa  = waddr_i + {{(AW-BW){1'b0}}, wi};
    assign wen = we_i && {{(8-BW){1'b0}}, wi} < wlen_i;
    if (NB > WB) begin : g_wpad
      logic [NB*8-1:0] wd;
      assign wd    = {{((NB-WB)*8){1'b0}}, wdata_i};
      assign wbyte = wd[wi*8 +: 8];
    end else begin : g_wfit
      assign wbyte = wdata_i[wi*8 +: 8];
    end
    // Read: the row of the lane that reads bank j.
    logic          ren;
    logic [RW-1:0] rrow;
    hdx_bank_sel #(.NRD(NRD), .AW(AW), .BW(BW), .RW(RW), .J(j)) u_sel (
      .re_i    (re_i),
      .raddr_i (raddr_i),
      .re_o    (ren),
      .raddr_o (rrow),
      .two_o   (conflict[j])
    );
    hdx_sram_2p #(.DEPTH(DEPTH), .AW(RW), .WIDTH(8), .NBE(1)) u_bank (
      .clk_i   (clk_i),
      .we_i    (wen),
      .waddr_i (wa[AW-1 -: RW]),
      .wbe_i   (1'b1),
      .wdata_i (wbyte),
      .re_i    (ren),
      .raddr_i (rrow),
      .rdata_o (bank_rd[j*8 +: 8])
    );
  end

  // Each lane takes the byte of the bank it read.
  for (genvar r = 0; r < NRD; r++) begin : g_lane
    logic [BW-1:0] b;
    always_ff @(posedge clk_i) begin
      if (re_i[r]) lane_bank_q[r*BW +: BW] <= raddr_i[r*AW +: BW];
    end
    assign b = lane_bank_q[r*BW +: BW];
    assign rdata_o[r*8 +: 8] = bank_rd[b*8 +: 8];
  end

`ifndef SYNTHESIS
  // Two lanes in one bank in one cycle: the layout was not bank-conflict free.
  always @(posedge clk_i) begin
    assert (conflict == '0)
      else $error("hdx_ibuf.bank_conflict: %m: two lanes read one bank in one cycle (banks %b)",
                  conflict);
  end
`endif
endmodule
