// Two-port SRAM (one write port, one read port), the macro behind every large buffer.
// Synchronous read: rdata_o is the word at raddr_i as of the clock edge that sampled re_i,
// and holds until the next read. NBE write-enable lanes of WIDTH / NBE bits each (NBE = 1:
// whole-word writes). Reading the address being written in the same cycle is not allowed
// (real macros return X there); the simulation model flags it.
//
// This module is only the behavioral model: to use a memory compiler's macro or an FPGA block
// RAM, replace this file with one that instantiates it (memories.json lists every instance).
module hdx_sram_2p #(
  parameter DEPTH = 256,
  parameter AW    = 8,
  parameter WIDTH = 32,
  parameter NBE   = 4
) (
  input  logic             clk_i,
  input  logic             we_i,
  input  logic [AW-1:0]    waddr_i,
  input  logic [NBE-1:0]   wbe_i,
  input  logic [WIDTH-1:0] wdata_i,
  input  logic             re_i,
  input  logic [AW-1:0]    raddr_i,
  output logic [WIDTH-1:0] rdata_o
);
  // One array per write-enable lane: each lane is written on its own enable. (One array of
  // whole words merged on a write simulates faster, but needs a second, asynchronous read
  // port; this keeps the model the shape of a macro: one synchronous read port.)
  localparam LW = WIDTH / NBE;
  for (genvar g = 0; g < NBE; g++) begin : g_lane
    logic [LW-1:0] mem_q [0:DEPTH-1];
    logic [LW-1:0] rdata_q;
    // The lanes' blocks test the same enables first, so that a Verilated model tests them
    // once for all lanes (it merges adjacent ifs on one condition), not once per lane.
    always_ff @(posedge clk_i) begin
      if (we_i) begin
        if (wbe_i[g]) mem_q[waddr_i] <= wdata_i[g*LW +: LW];
      end
      if (re_i) rdata_q <= mem_q[raddr_i];
    end
    assign rdata_o[g*LW +: LW] = rdata_q;
  end

`ifndef SYNTHESIS
  always @(posedge clk_i) begin
    if (we_i && re_i) begin
      assert (!(waddr_i == raddr_i && wbe_i != '0))
        else $error("hdx_sram_2p.read_during_write: %m: address %0d read and written in one cycle",
                    raddr_i);
    end
  end
`endif
endmodule
