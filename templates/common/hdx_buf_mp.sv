// Byte-addressed on-chip buffer with NRD asynchronous read ports of RB consecutive bytes
// each and one write port of up to WB bytes at any byte address (from the load engine).
// Still a multi-port array, not an SRAM macro: the rs weight buffer, read at one address per
// PE row and cycle, uses it until it is banked (docs/architecture.md, "Memories").
module hdx_buf_mp #(
  parameter BYTES = 1024,
  parameter AW    = 10,
  parameter WB    = 8,
  parameter NRD   = 1,
  parameter RB    = 1
) (
  input  logic              clk_i,
  input  logic              we_i,
  input  logic [AW-1:0]     waddr_i,
  input  logic [7:0]        wlen_i,
  input  logic [WB*8-1:0]   wdata_i,
  input  logic [NRD*AW-1:0] raddr_i,
  output logic [NRD*RB*8-1:0] rdata_o
);
  logic [7:0] mem_q [0:BYTES-1];

  integer i;
  always_ff @(posedge clk_i) begin
    if (we_i) begin
      for (i = 0; i < WB; i = i + 1) begin
        if (i[7:0] < wlen_i) mem_q[waddr_i + i[AW-1:0]] <= wdata_i[i*8 +: 8];
      end
    end
  end

  for (genvar p = 0; p < NRD; p++) begin : g_port
    for (genvar b = 0; b < RB; b++) begin : g_byte
      localparam [AW-1:0] Off = b;
      assign rdata_o[(p*RB+b)*8 +: 8] = mem_q[raddr_i[p*AW +: AW] + Off];
    end
  end
endmodule
