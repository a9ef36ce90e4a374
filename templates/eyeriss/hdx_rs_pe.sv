// Row-stationary processing element (docs/architecture.md, section 9).
//
// Three scratchpads: filter (SF int8 entries: p filters x q channels x kw taps of one filter
// row), ifmap (SI int8 entries: the kw-tap window of q channels of one input row, written
// as a ring as the window slides) and psum (SP int32 entries, one per filter). Each MAC cycle
// multiplies one filter entry by one window entry into one psum; the first tap of a filter
// starts its sum. copy_i moves all psums into the shadow registers, which the drain reads
// while the next output column is computed.
module hdx_rs_pe #(
  parameter SI  = 12,
  parameter SF  = 224,
  parameter SP  = 24,
  parameter SIW = 4,
  parameter SFW = 8,
  parameter SPW = 5
) (
  input  logic             clk_i,
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
  logic [31:0] psum_q [0:SP-1];
  logic [SP*32-1:0] shadow_q;
  logic signed [15:0] prod;

  always_ff @(posedge clk_i) begin
    if (fw_en_i) filt_q[fw_addr_i] <= fw_data_i;
    if (iw_en_i) win_q[iw_addr_i] <= iw_data_i;
  end

  assign prod = $signed(filt_q[mac_fa_i]) * $signed(win_q[mac_ia_i]);

  always_ff @(posedge clk_i) begin
    if (mac_en_i)
      psum_q[mac_f_i] <= (mac_first_i ? 32'd0 : psum_q[mac_f_i]) + {{16{prod[15]}}, prod};
  end

  for (genvar f = 0; f < SP; f++) begin : g_shadow
    always_ff @(posedge clk_i) begin
      if (copy_i) shadow_q[f*32 +: 32] <= psum_q[f];
    end
  end
  assign shadow_o = shadow_q;
endmodule
