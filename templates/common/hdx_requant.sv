// Output stage of one lane (docs/arithmetic.md): int32 accumulator plus bias, times an
// integer multiplier, rounding right shift (round half up), optional ReLU, clamp to int8.
// Three register stages, so that the 32 x 32-bit multiply has a cycle of its own: the sum
// and the lane's parameters (loaded when en0_i), the product (en1_i) and the int8 result
// (en2_i).
module hdx_requant (
  input  logic        clk_i,
  input  logic        en0_i,
  input  logic [31:0] acc_i,
  input  logic [31:0] bias_i,
  input  logic [31:0] mult_i,
  input  logic [5:0]  shift_i,
  input  logic        relu_i,
  input  logic        en1_i,
  input  logic        en2_i,
  output logic [7:0]  y_o
);
  logic signed [31:0] sum_q, mult_q;
  logic signed [63:0] prod_q;
  logic [5:0]         shift1_q, shift_q;
  logic               relu1_q, relu_q;
  logic signed [63:0] rnd, shifted;
  logic [7:0]         y_d, y_q;

  always_ff @(posedge clk_i) begin
    if (en0_i) begin
      sum_q    <= $signed(acc_i + bias_i);
      mult_q   <= $signed(mult_i);
      shift1_q <= shift_i;
      relu1_q  <= relu_i;
    end
  end

  always_ff @(posedge clk_i) begin
    if (en1_i) begin
      prod_q  <= $signed({{32{sum_q[31]}}, sum_q}) * $signed({{32{mult_q[31]}}, mult_q});
      shift_q <= shift1_q;
      relu_q  <= relu1_q;
    end
  end

  assign rnd     = (shift_q == 6'd0) ? 64'sd0 : (64'sd1 <<< (shift_q - 6'd1));
  assign shifted = (prod_q + rnd) >>> shift_q;

  assign y_d = (relu_q && shifted < 0)  ? 8'd0 :
               (shifted > 64'sd127)     ? 8'h7f :
               (shifted < -64'sd128)    ? 8'h80 : shifted[7:0];

  always_ff @(posedge clk_i) begin
    if (en2_i) y_q <= y_d;
  end

  assign y_o = y_q;
endmodule
