// Read port of one bank of a banked buffer (hdx_ibuf, hdx_wbuf): of the NRD readers, the one
// whose address has bank bits J reads the bank, at the row in its address's upper bits (at
// most one does; a second one in the same cycle sets two_o, a bank conflict, which the
// simulation model checks). The readers are searched only in a cycle with a read: most cycles
// have none, and a Verilated model then skips the search (it costs synthesis an AND per
// output bit).
module hdx_bank_sel #(
  parameter NRD = 4,  // readers
  parameter AW  = 8,  // bits of a reader's address: row, then bank
  parameter BW  = 2,  // bank bits
  parameter RW  = 6,  // row bits
  parameter J   = 0   // this bank
) (
  input  logic [NRD-1:0]    re_i,
  input  logic [NRD*AW-1:0] raddr_i,
  output logic              re_o,
  output logic [RW-1:0]     raddr_o,
  output logic              two_o
);
  localparam [BW-1:0] Bank = J;

  always_comb begin
    re_o    = 1'b0;
    two_o   = 1'b0;
    raddr_o = '0;
    if (re_i != '0)
      for (int r = 0; r < NRD; r++)
        if (re_i[r] && raddr_i[r*AW +: BW] == Bank) begin
          two_o   = re_o;
          re_o    = 1'b1;
          raddr_o = raddr_o | raddr_i[r*AW + BW +: RW];
        end
  end
endmodule
