// Accumulator: ENTRIES entries of LANES int32 lanes, on SRAM (hdx_sram_2p), with a pipelined
// read-modify-write for the compute engine and a read port for the store engine.
//
// Read-modify-write, three stages:
//   R (cycle t):     rq_valid_i, rq_first_i, rq_last_i, rq_addr_i; the entry is read.
//   A (cycle t + 1): add_i arrives; sum = (first ? 0 : entry) + add_i, registered.
//   W (cycle t + 2): the sum is written; wr_last_o is high if the request was a last one.
// A request for an entry that is still in stage A or W, or was written in the cycle it is
// read, takes the newer sum (forwarding) instead of the SRAM's word, so requests may follow
// each other every cycle to any entries.
// Store read: rd_en_i and rd_addr_i in cycle t, rd_data_o from cycle t + 1 until the next
// read. The store engine reads its own copy of the entries (every write goes to both), so
// that the two engines never share a read port.
module hdx_acc #(
  parameter ENTRIES = 256,
  parameter AW      = 8,
  parameter LANES   = 8
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                rq_valid_i,
  input  logic                rq_first_i,
  input  logic                rq_last_i,
  input  logic [AW-1:0]       rq_addr_i,
  input  logic [LANES*32-1:0] add_i,
  output logic                wr_last_o,
  input  logic                rd_en_i,
  input  logic [AW-1:0]       rd_addr_i,
  output logic [LANES*32-1:0] rd_data_o
);
  localparam W = LANES * 32;

  // Stage registers: A (the request read last cycle), W (the sum being written), X (the sum
  // written last cycle, for a request whose read coincided with that write).
  logic          a_valid_q, a_first_q, a_last_q, w_valid_q, w_last_q, x_valid_q;
  logic [AW-1:0] a_addr_q, w_addr_q, x_addr_q;
  logic [W-1:0]  w_sum_q, x_sum_q;

  // The SRAM is not read where stage W writes the same entry in this cycle (forwarded later
  // from X), nor for a first request (nothing to add to).
  logic rd_rmw;
  assign rd_rmw = rq_valid_i && !rq_first_i && !(w_valid_q && w_addr_q == rq_addr_i);

  logic [W-1:0] entry, old, sum;
  hdx_sram_2p #(.DEPTH(ENTRIES), .AW(AW), .WIDTH(W), .NBE(1)) u_rmw (
    .clk_i   (clk_i),
    .we_i    (w_valid_q),
    .waddr_i (w_addr_q),
    .wbe_i   (1'b1),
    .wdata_i (w_sum_q),
    .re_i    (rd_rmw),
    .raddr_i (rq_addr_i),
    .rdata_o (entry)
  );
  hdx_sram_2p #(.DEPTH(ENTRIES), .AW(AW), .WIDTH(W), .NBE(1)) u_store (
    .clk_i   (clk_i),
    .we_i    (w_valid_q),
    .waddr_i (w_addr_q),
    .wbe_i   (1'b1),
    .wdata_i (w_sum_q),
    .re_i    (rd_en_i),
    .raddr_i (rd_addr_i),
    .rdata_o (rd_data_o)
  );

  assign old = w_valid_q && w_addr_q == a_addr_q ? w_sum_q :
               x_valid_q && x_addr_q == a_addr_q ? x_sum_q : entry;
  for (genvar l = 0; l < LANES; l++) begin : g_lane
    assign sum[l*32 +: 32] = a_first_q ? add_i[l*32 +: 32] : old[l*32 +: 32] + add_i[l*32 +: 32];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      {a_valid_q, a_first_q, a_last_q, w_valid_q, w_last_q, x_valid_q} <= '0;
      {a_addr_q, w_addr_q, x_addr_q} <= '0;
      {w_sum_q, x_sum_q} <= '0;
    end else begin
      a_valid_q <= rq_valid_i;
      w_valid_q <= a_valid_q;
      x_valid_q <= w_valid_q;
      if (rq_valid_i) begin
        a_first_q <= rq_first_i;
        a_last_q  <= rq_last_i;
        a_addr_q  <= rq_addr_i;
      end
      if (a_valid_q) begin
        w_last_q <= a_last_q;
        w_addr_q <= a_addr_q;
        w_sum_q  <= sum;
      end
      if (w_valid_q) begin
        x_addr_q <= w_addr_q;
        x_sum_q  <= w_sum_q;
      end
    end
  end
  assign wr_last_o = w_valid_q && w_last_q;
endmodule
