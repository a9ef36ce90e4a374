// ROWS x COLS weight-stationary systolic array. Row r receives its activation (already
// skewed by r cycles) on the left; column c delivers its partial sum at the bottom.
// Weights are preloaded one row per cycle: bit r of wl_en0_i (wl_en1_i) loads row r's bank 0
// (bank 1). One enable per row and bank, so no enable or bank bit drives the whole array.
// Every row of a bank is written at each preload (rows and columns outside the fold with 0).
module hdx_ws_array #(
  parameter ROWS = 4,
  parameter COLS = 4
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic [ROWS-1:0]    wl_en0_i,
  input  logic [ROWS-1:0]    wl_en1_i,
  input  logic [COLS*8-1:0]  wl_data_i,
  input  logic [ROWS*8-1:0]  a_i,
  input  logic [ROWS-1:0]    bank_i,
  output logic [COLS*32-1:0] psum_o
);
  // Horizontal links: (ROWS) x (COLS+1); vertical links: (ROWS+1) x COLS.
  logic [ROWS*(COLS+1)*8-1:0]  a_h;
  logic [ROWS*(COLS+1)-1:0]    bank_h;
  logic [(ROWS+1)*COLS*32-1:0] psum_v;

  for (genvar c = 0; c < COLS; c++) begin : g_top
    assign psum_v[c*32 +: 32] = 32'd0;
    assign psum_o[c*32 +: 32] = psum_v[(ROWS*COLS+c)*32 +: 32];
  end

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    assign a_h[(r*(COLS+1))*8 +: 8] = a_i[r*8 +: 8];
    assign bank_h[r*(COLS+1)]       = bank_i[r];
    for (genvar c = 0; c < COLS; c++) begin : g_col
      hdx_ws_pe u_pe (
        .clk_i     (clk_i),
        .rst_ni    (rst_ni),
        .wl_en0_i  (wl_en0_i[r]),
        .wl_en1_i  (wl_en1_i[r]),
        .wl_data_i (wl_data_i[c*8 +: 8]),
        .a_i       (a_h[(r*(COLS+1)+c)*8 +: 8]),
        .bank_i    (bank_h[r*(COLS+1)+c]),
        .psum_i    (psum_v[(r*COLS+c)*32 +: 32]),
        .a_o       (a_h[(r*(COLS+1)+c+1)*8 +: 8]),
        .bank_o    (bank_h[r*(COLS+1)+c+1]),
        .psum_o    (psum_v[((r+1)*COLS+c)*32 +: 32])
      );
    end
  end

  // The activations and bank bits leaving the right edge are not used.
  // verilator lint_off UNUSEDSIGNAL
  logic unused_right;
  assign unused_right = ^{a_h, bank_h};
  // verilator lint_on UNUSEDSIGNAL
endmodule
