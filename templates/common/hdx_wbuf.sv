// Weight buffer of the row-stationary engine: WORDS words of COLS bytes (one weight row each:
// a tap of one channel for the tile's filters) on NB banks of hdx_sram_2p, NB the power of two
// >= 2 and NRD. The NRD PE rows read at independent word addresses, a word each, with the
// data in the cycle after re_i[row] (synchronous read; it holds until the row's next read).
//
// Word w lives in bank w mod NB, row w / NB. The load engine writes a beat of up to BPC bytes
// inside one word, at byte address w * 2^OB + b (b < COLS): the beat's bytes go to bytes b and
// up of the word, on their byte enables. The rows of one cycle must read distinct banks: the
// schedule lays out each weight slot so that they do (docs/architecture.md, "Memories"), and
// the simulation model flags a conflict. A crossbar routes each row's address to its bank
// and the bank's word back to the row.
module hdx_wbuf #(
  parameter WORDS = 64,  // a multiple of NB
  parameter AW    = 6,   // word address bits, more than the bank bits
  parameter COLS  = 4,
  parameter OB    = 2,   // byte bits of a write address: 2^OB >= COLS
  parameter BPC   = 8,
  parameter NRD   = 4
) (
  input  logic                   clk_i,
  input  logic                   we_i,
  input  logic [AW+OB-1:0]       waddr_i,
  input  logic [7:0]             wlen_i,
  input  logic [BPC*8-1:0]       wdata_i,
  input  logic [NRD-1:0]         re_i,
  input  logic [NRD*AW-1:0]      raddr_i,
  output logic [NRD*COLS*8-1:0]  rdata_o
);
  localparam BW    = NRD > 2 ? $clog2(NRD) : 1;  // bank bits
  localparam NB    = 1 << BW;                    // banks
  localparam DEPTH = WORDS / NB;
  localparam RW    = AW - BW;                    // row bits
  localparam integer PB = COLS > BPC ? COLS : BPC;

  // The beat, placed at its byte offset within the word: one shift (bytes outside
  // [offset, offset + length) are not enabled).
  logic [AW-1:0]          wword;
  logic [OB-1:0]          woff;
  // verilator lint_off UNUSEDSIGNAL
  logic [(PB+COLS)*8-1:0] wwin;  // the bytes shifted past the word are dropped
  // verilator lint_on UNUSEDSIGNAL
  logic [COLS*8-1:0]      wdata;
  logic [COLS-1:0]        wbe;
  assign {wword, woff} = waddr_i;
  // Bytes [offset, offset + length) of the word are enabled: a mask shifted into place.
  assign wbe   = ~({COLS{1'b1}} << wlen_i) << woff;
  assign wwin  = {{((PB+COLS-BPC)*8){1'b0}}, wdata_i} << {woff, 3'b0};
  assign wdata = wwin[COLS*8-1:0];

  logic [NB*COLS*8-1:0] bank_rd;
  logic [NRD*BW-1:0]    row_bank_q;
  logic [NB-1:0]        conflict;

  for (genvar j = 0; j < NB; j++) begin : g_bank
    localparam [BW-1:0] J = j;
    // Read: the row of the PE row that reads bank j.
    logic          ren;
    logic [RW-1:0] rrow;
    hdx_bank_sel #(.NRD(NRD), .AW(AW), .BW(BW), .RW(RW), .J(j)) u_sel (
      .re_i    (re_i),
      .raddr_i (raddr_i),
      .re_o    (ren),
      .raddr_o (rrow),
      .two_o   (conflict[j])
    );
    hdx_sram_2p #(.DEPTH(DEPTH), .AW(RW), .WIDTH(COLS*8), .NBE(COLS)) u_bank (
      .clk_i   (clk_i),
      .we_i    (we_i && wword[BW-1:0] == J),
      .waddr_i (wword[AW-1:BW]),
      .wbe_i   (wbe),
      .wdata_i (wdata),
      .re_i    (ren),
      .raddr_i (rrow),
      .rdata_o (bank_rd[j*COLS*8 +: COLS*8])
    );
  end

  // Each PE row takes the word of the bank it read: an AND-OR multiplexer over the banks
  // (words of COLS bytes need not be a power of two wide, so no indexed select).
  for (genvar r = 0; r < NRD; r++) begin : g_row
    logic [BW-1:0] b;
    always_ff @(posedge clk_i) begin
      if (re_i[r]) row_bank_q[r*BW +: BW] <= raddr_i[r*AW +: BW];
    end
    assign b = row_bank_q[r*BW +: BW];
    for (genvar j = 0; j < NB; j++) begin : g_sel
      localparam [BW-1:0] J = j;
      logic [COLS*8-1:0] word;  // the word of banks 0..j that row r read
      if (j == 0) begin : g_first
        assign word = b == J ? bank_rd[0 +: COLS*8] : '0;
      end else begin : g_next
        assign word = g_sel[j-1].word | (b == J ? bank_rd[j*COLS*8 +: COLS*8] : '0);
      end
    end
    assign rdata_o[r*COLS*8 +: COLS*8] = g_sel[NB-1].word;
  end

`ifndef SYNTHESIS
  // Two PE rows in one bank in one cycle: the slot's layout was not bank-conflict free.
  always @(posedge clk_i) begin
    assert (conflict == '0)
      else $error("hdx_wbuf.bank_conflict: %m: two PE rows read one bank in one cycle (banks %b)",
                  conflict);
  end
`endif
endmodule
