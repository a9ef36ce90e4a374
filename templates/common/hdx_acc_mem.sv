// Accumulator memory: ENTRIES entries of LANES int32 lanes. One synchronous write port and
// two asynchronous read ports (A: the compute engine's read-modify-write, B: the store engine).
module hdx_acc_mem #(
  parameter ENTRIES = 256,
  parameter AW      = 8,
  parameter LANES   = 8
) (
  input  logic                clk_i,
  input  logic                we_i,
  input  logic [AW-1:0]       waddr_i,
  input  logic [LANES*32-1:0] wdata_i,
  input  logic [AW-1:0]       raddr_a_i,
  output logic [LANES*32-1:0] rdata_a_o,
  input  logic [AW-1:0]       raddr_b_i,
  output logic [LANES*32-1:0] rdata_b_o
);
  logic [LANES*32-1:0] mem_q [0:ENTRIES-1];

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
  end

  assign rdata_a_o = mem_q[raddr_a_i];
  assign rdata_b_o = mem_q[raddr_b_i];
endmodule
