// Single-port SRAM (one read/write port). Synchronous read: when en_i is high and we_i low,
// rdata_o is the word at addr_i as of that clock edge, and holds until the next read. NBE
// write-enable lanes of WIDTH / NBE bits each (NBE = 1: whole-word writes).
//
// This module is only the behavioral model: to use a memory compiler's macro or an FPGA block
// RAM, replace this file with one that instantiates it (memories.json lists every instance).
module hdx_sram_1p #(
  parameter DEPTH = 256,
  parameter AW    = 8,
  parameter WIDTH = 8,
  parameter NBE   = 1
) (
  input  logic             clk_i,
  input  logic             en_i,
  input  logic             we_i,
  input  logic [AW-1:0]    addr_i,
  input  logic [NBE-1:0]   wbe_i,
  input  logic [WIDTH-1:0] wdata_i,
  output logic [WIDTH-1:0] rdata_o
);
  // One array per write-enable lane: each lane is written on its own enable.
  localparam LW = WIDTH / NBE;
  for (genvar g = 0; g < NBE; g++) begin : g_lane
    logic [LW-1:0] mem_q [0:DEPTH-1];
    logic [LW-1:0] rdata_q;
    always_ff @(posedge clk_i) begin
      if (en_i && we_i) begin
        if (wbe_i[g]) mem_q[addr_i] <= wdata_i[g*LW +: LW];
      end else if (en_i) begin
        rdata_q <= mem_q[addr_i];
      end
    end
    assign rdata_o[g*LW +: LW] = rdata_q;
  end
endmodule
