// Byte-addressed on-chip buffer on two SRAM banks (hdx_sram_2p), for a buffer with one
// reader: one write of up to WB consecutive bytes per cycle at any byte address (from the
// load engine) and one read of RB consecutive bytes per cycle at any byte address, with the
// data in the cycle after re_i (synchronous read; it holds until the next read).
//
// Words are NB bytes (NB the power of two >= WB and RB); even words live in bank 0, odd
// words in bank 1, each NB bytes wide with byte write enables. An access of at most NB bytes
// starting at byte o of word w touches words w and w + 1 only, so each bank sees one access
// per port and cycle; the bytes are rotated into place with shifts, no divider. A bank is
// only enabled for a word the access touches, so a read and a write in one cycle collide
// only where they share a word (the schedule keeps the weight slots word-aligned).
module hdx_buf #(
  parameter BYTES = 1024,
  parameter AW    = 10,
  parameter WB    = 8,
  parameter RB    = 4
) (
  input  logic            clk_i,
  input  logic            we_i,
  input  logic [AW-1:0]   waddr_i,
  input  logic [7:0]      wlen_i,
  input  logic [WB*8-1:0] wdata_i,
  input  logic            re_i,
  input  logic [AW-1:0]   raddr_i,
  output logic [RB*8-1:0] rdata_o
);
  localparam integer MaxB = WB > RB ? WB : RB;
  localparam OW    = MaxB > 1 ? $clog2(MaxB) : 1;   // byte offset bits
  localparam NB    = 1 << OW;                       // bytes per word
  localparam DEPTH = (BYTES + 2 * NB - 1) / (2 * NB);
  localparam RW    = AW > OW + 1 ? AW - OW - 1 : 1;  // bank row bits

  // Address split: word w = addr >> OW (bank w[0], row w >> 1), byte offset addr[OW-1:0].
  function automatic [RW-1:0] row0(input [AW-1:0] a);  // bank 0 row of word w or w + 1
    logic [AW:0] w;
    w    = {1'b0, a} >> OW;
    row0 = RW'((w >> 1) + {{AW{1'b0}}, w[0]});
  endfunction
  function automatic [RW-1:0] row1(input [AW-1:0] a);  // bank 1 row of word w or w + 1
    logic [AW:0] w;
    w    = {1'b0, a} >> OW;
    row1 = RW'(w >> 1);
  endfunction

  // Write: the bytes, shifted to their offset in the two-word window, then the window's low
  // word goes to bank w[0] and its high word to the other bank.
  logic [OW-1:0]     wo;
  logic              wodd;
  logic [2*NB-1:0]   wbe_win;
  logic [16*NB-1:0]  wd_win;
  logic [NB-1:0]     be0, be1;
  logic [NB*8-1:0]   wd0, wd1;
  logic [2*NB-1:0]   len_mask;
  assign wo   = waddr_i[OW-1:0];
  assign wodd = waddr_i[OW];
  always_comb begin
    len_mask = '0;
    for (int i = 0; i < WB; i++) len_mask[i] = 8'(i) < wlen_i;
  end
  assign wbe_win = len_mask << wo;  // wlen_i <= WB <= NB and wo < NB: no byte falls off
  assign wd_win  = {{(16*NB-WB*8){1'b0}}, wdata_i} << {wo, 3'b000};
  assign be0 = wodd ? wbe_win[NB +: NB] : wbe_win[0 +: NB];
  assign be1 = wodd ? wbe_win[0 +: NB]  : wbe_win[NB +: NB];
  assign wd0 = wodd ? wd_win[NB*8 +: NB*8] : wd_win[0 +: NB*8];
  assign wd1 = wodd ? wd_win[0 +: NB*8]    : wd_win[NB*8 +: NB*8];

  // Read: word w always, word w + 1 when the read runs past the end of word w.
  logic [OW-1:0] ro;
  logic          rodd, rnext, re0, re1;
  logic [OW:0]   rend;
  assign ro    = raddr_i[OW-1:0];
  assign rodd  = raddr_i[OW];
  localparam [OW:0] RbW = RB, NbW = NB;
  assign rend  = {1'b0, ro} + RbW;
  assign rnext = rend > NbW;
  assign re0   = re_i && (!rodd || rnext);
  assign re1   = re_i && (rodd || rnext);

  logic [NB*8-1:0] rd0, rd1;
  hdx_sram_2p #(.DEPTH(DEPTH), .AW(RW), .WIDTH(NB * 8), .NBE(NB)) u_bank0 (
    .clk_i   (clk_i),
    .we_i    (we_i && be0 != '0),
    .waddr_i (row0(waddr_i)),
    .wbe_i   (be0),
    .wdata_i (wd0),
    .re_i    (re0),
    .raddr_i (row0(raddr_i)),
    .rdata_o (rd0)
  );
  hdx_sram_2p #(.DEPTH(DEPTH), .AW(RW), .WIDTH(NB * 8), .NBE(NB)) u_bank1 (
    .clk_i   (clk_i),
    .we_i    (we_i && be1 != '0),
    .waddr_i (row1(waddr_i)),
    .wbe_i   (be1),
    .wdata_i (wd1),
    .re_i    (re1),
    .raddr_i (row1(raddr_i)),
    .rdata_o (rd1)
  );

  // Read: the two words in address order, shifted down by the read's byte offset.
  logic [OW-1:0]    ro_q;
  logic             rodd_q;
  // verilator lint_off UNUSEDSIGNAL
  // The rotated two-word window; its low RB bytes are the read.
  logic [16*NB-1:0] rwin;
  // verilator lint_on UNUSEDSIGNAL
  always_ff @(posedge clk_i) begin
    if (re_i) begin
      ro_q   <= ro;
      rodd_q <= rodd;
    end
  end
  assign rwin    = (rodd_q ? {rd0, rd1} : {rd1, rd0}) >> {ro_q, 3'b000};
  assign rdata_o = rwin[RB*8-1:0];
endmodule
