// Row-stationary processing element (docs/architecture.md, section 9).
//
// Three scratchpads: filter (SF int8 entries: p filters x q channels x kw taps of one filter
// row), ifmap (SI int8 entries: the kw-tap window of q channels of one input row, written
// as a ring as the window slides) and psum (SP int32 entries, one per filter). Each MAC cycle
// multiplies one filter entry by one window entry into one psum; the first tap of a filter
// starts its sum. copy_i moves all psums into the shadow registers, which the drain reads
// while the next output column is computed. The psums and their shadows are reset and the
// multiplier's operands are used only in MAC cycles, so no unknown value reaches a product
// or a sum in a 4-state simulator.
module hdx_rs_pe #(
  parameter SI  = 12,
  parameter SF  = 224,
  parameter SP  = 24,
  parameter SIW = 4,
  parameter SFW = 8,
  parameter SPW = 5
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             fw_en_i,     // filter scratchpad write
  input  logic [SFW-1:0]   fw_addr_i,
  input  logic [7:0]       fw_data_i,
  input  logic             iw_en_i,     // ifmap scratchpad write
  input  logic [SIW-1:0]   iw_addr_i,
  input  logic [7:0]       iw_data_i,
  input  logic             mac_en_i,    // one MAC: psum[f] (+)= filter[fa] * ifmap[ia]
  input  logic             mac_first_i, // the filter's first tap: start the sum
  input  logic [SPW-1:0]   mac_f_i,
  input  logic [SFW-1:0]   mac_fa_i,
  input  logic [SIW-1:0]   mac_ia_i,
  input  logic             copy_i,
  output logic [SP*32-1:0] shadow_o
);
  logic [7:0]  filt_q [0:SF-1];
  logic [7:0]  win_q  [0:SI-1];
  logic [SP*32-1:0] psum_q;
  logic [SP*32-1:0] shadow_q;
  logic signed [15:0] prod;

  always_ff @(posedge clk_i) begin
    if (fw_en_i) filt_q[fw_addr_i] <= fw_data_i;
    if (iw_en_i) win_q[iw_addr_i] <= iw_data_i;
  end

  logic [7:0] fa, ia;
  assign fa   = mac_en_i ? filt_q[mac_fa_i] : 8'd0;
  assign ia   = mac_en_i ? win_q[mac_ia_i] : 8'd0;
  assign prod = $signed(fa) * $signed(ia);

  // One adder: the selected psum (or 0 at the filter's first tap) plus the product.
  logic [31:0] sum;
  assign sum = (mac_first_i ? 32'd0 : psum_q[mac_f_i*32 +: 32]) + {{16{prod[15]}}, prod};

  for (genvar f = 0; f < SP; f++) begin : g_psum
    localparam [SPW-1:0] F = f;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        psum_q[f*32 +: 32]   <= '0;
        shadow_q[f*32 +: 32] <= '0;
      end else begin
        if (mac_en_i && mac_f_i == F)
          psum_q[f*32 +: 32] <= sum;
        if (copy_i) shadow_q[f*32 +: 32] <= psum_q[f*32 +: 32];
      end
    end
  end
  assign shadow_o = shadow_q;
endmodule
