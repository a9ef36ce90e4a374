// Weight-stationary processing element. Two weight registers (banks): one is preloaded while
// the other computes (wl_en0_i or wl_en1_i loads wl_data_i into bank 0 or 1); each activation
// carries the bank it is to be multiplied with.
// The activation moves right and the partial sum moves down, one PE per cycle.
// Every register is reset, so no unknown value reaches a product in a 4-state simulator.
module hdx_ws_pe (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        wl_en0_i,
  input  logic        wl_en1_i,
  input  logic [7:0]  wl_data_i,
  input  logic [7:0]  a_i,
  input  logic        bank_i,
  input  logic [31:0] psum_i,
  output logic [7:0]  a_o,
  output logic        bank_o,
  output logic [31:0] psum_o
);
  logic [7:0]  w0_q, w1_q, a_q;
  logic        bank_q;
  logic [31:0] psum_q;
  // The int8 x int8 product, sign-extended to the partial sum's width (synthesis keeps an
  // 8 x 8 multiplier: the operands' upper bits are copies of their sign bits).
  logic signed [31:0] prod;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w0_q <= '0;
      w1_q <= '0;
    end else begin
      if (wl_en0_i) w0_q <= wl_data_i;
      if (wl_en1_i) w1_q <= wl_data_i;
    end
  end

  assign prod = 32'($signed(a_i)) * 32'($signed(bank_i ? w1_q : w0_q));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_q    <= '0;
      bank_q <= 1'b0;
      psum_q <= '0;
    end else begin
      a_q    <= a_i;
      bank_q <= bank_i;
      psum_q <= psum_i + prod;
    end
  end

  assign a_o    = a_q;
  assign bank_o = bank_q;
  assign psum_o = psum_q;
endmodule
