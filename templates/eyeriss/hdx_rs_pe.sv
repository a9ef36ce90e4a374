// Row-stationary processing element (docs/architecture.md, section 9).
//
// Three scratchpads: filter (SF int8 entries: p filters x q channels x kw taps of one filter
// row; a single-port SRAM, hdx_sram_1p), ifmap (SI int8 entries: the kw-tap window of q
// channels of one input row, written as a ring as the window slides; registers) and psum
// (SP int32 entries, one per filter; registers). Each MAC takes two cycles: in the MAC cycle
// the filter entry is read (synchronous) and the window entry registered, in the next the
// product is added into the psum; the first tap of a filter starts its sum. copy_i moves all
// psums into the shadow registers, which the drain reads while the next output column is
// computed; a MAC finishing in the copy cycle is copied with its sum. The psums and their
// shadows are reset and the multiplier's operands are used only in MACs, so no unknown
// value reaches a product or a sum in a 4-state simulator.
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
  logic [7:0]  win_q [0:SI-1];
  logic [SP*32-1:0] psum_q;
  logic [SP*32-1:0] shadow_q;
  logic signed [15:0] prod;

  // Filter scratchpad: written in the filter load, read in the MACs (never both at once).
  logic [7:0] filt;
  hdx_sram_1p #(.DEPTH(SF), .AW(SFW), .WIDTH(8), .NBE(1)) u_filt (
    .clk_i   (clk_i),
    .en_i    (fw_en_i || mac_en_i),
    .we_i    (fw_en_i),
    .addr_i  (fw_en_i ? fw_addr_i : mac_fa_i),
    .wbe_i   (1'b1),
    .wdata_i (fw_data_i),
    .rdata_o (filt)
  );

  always_ff @(posedge clk_i) begin
    if (iw_en_i) win_q[iw_addr_i] <= iw_data_i;
  end

  // Second MAC stage: the registered window entry, filter and control.
  logic           m_en_q, m_first_q;
  logic [SPW-1:0] m_f_q;
  logic [7:0]     m_ia_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {m_en_q, m_first_q, m_f_q, m_ia_q} <= '0;
    end else begin
      m_en_q <= mac_en_i;
      if (mac_en_i) begin
        m_first_q <= mac_first_i;
        m_f_q     <= mac_f_i;
        // A window entry written in this cycle (the delivery's last value) is forwarded.
        m_ia_q    <= iw_en_i && iw_addr_i == mac_ia_i ? iw_data_i : win_q[mac_ia_i];
      end
    end
  end

  logic [7:0] fa, ia;
  assign fa   = m_en_q ? filt : 8'd0;
  assign ia   = m_en_q ? m_ia_q : 8'd0;
  assign prod = $signed(fa) * $signed(ia);

  // One adder: the selected psum (or 0 at the filter's first tap) plus the product.
  logic [31:0] sum;
  assign sum = (m_first_q ? 32'd0 : psum_q[m_f_q*32 +: 32]) + {{16{prod[15]}}, prod};

  for (genvar f = 0; f < SP; f++) begin : g_psum
    localparam [SPW-1:0] F = f;
    logic hit;
    assign hit = m_en_q && m_f_q == F;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        psum_q[f*32 +: 32]   <= '0;
        shadow_q[f*32 +: 32] <= '0;
      end else begin
        if (hit) psum_q[f*32 +: 32] <= sum;
        if (copy_i) shadow_q[f*32 +: 32] <= hit ? sum : psum_q[f*32 +: 32];
      end
    end
  end
  assign shadow_o = shadow_q;
endmodule
