// Row-stationary PE array and its multicast networks (docs/architecture.md, section 9).
//
// PE (r, c) belongs to vertical set row_v[r] (a channel chunk) as filter row row_i[r], and
// to horizontal set h (p filters) as output row j of the strip; the engine gives each column
// h * p (col_hp) and j * stride as ROWS * col_bq + col_br (col_br < ROWS), so that nothing
// here multiplies or divides.
// - Filter network (horizontal): each PE row receives one weight row (COLS bytes, all the
//   tile's filters) per cycle; a PE keeps byte h * p + f, or 0 when that filter or the
//   row's channel is not valid.
// - Ifmap network (diagonal): input row d of chunk v goes to the PEs with row_v = v and
//   j * stride + row_i = d. Diagonals are delivered ROWS at a time: diagonal d arrives
//   on port d mod ROWS in batch d / ROWS, that is port col_br + row_i (less ROWS when that
//   is ROWS or more, with one more batch) in batch col_bq.
// - Psum network (vertical): colsum_o holds, for each PE column and filter, the sum of the
//   shadow psums of the rows in sum_rows_i (the rows of the pass being drained).
module hdx_rs_array #(
  parameter ROWS = 4,
  parameter COLS = 4,
  parameter SI   = 12,
  parameter SF   = 224,
  parameter SP   = 24,
  parameter SIW  = 4,
  parameter SFW  = 8,
  parameter SPW  = 5
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic [ROWS-1:0]         row_act_i,
  input  logic [ROWS*8-1:0]       row_v_i,
  input  logic [ROWS*8-1:0]       row_i_i,
  input  logic [COLS-1:0]         col_act_i,
  input  logic [COLS*16-1:0]      col_hp_i,
  input  logic [COLS*8-1:0]       col_bq_i,
  input  logic [COLS*8-1:0]       col_br_i,
  input  logic [15:0]             nv_i,
  // filter load
  input  logic                    fl_en_i,
  input  logic [ROWS-1:0]         fl_cv_i,     // the row's channel is valid
  input  logic [SPW-1:0]          fl_f_i,
  input  logic [SFW-1:0]          fl_addr_i,
  input  logic [ROWS*COLS*8-1:0]  fl_rows_i,   // one weight row per PE row
  // ifmap delivery
  input  logic                    dl_en_i,
  input  logic [7:0]              dl_v_i,
  input  logic [7:0]              dl_b_i,
  input  logic [SIW-1:0]          dl_addr_i,
  input  logic [ROWS*8-1:0]       dl_data_i,   // one value per port
  // MACs
  input  logic                    mac_en_i,
  input  logic                    mac_first_i,
  input  logic [SPW-1:0]          mac_f_i,
  input  logic [SFW-1:0]          mac_fa_i,
  input  logic [SIW-1:0]          mac_ia_i,
  input  logic                    copy_i,
  input  logic [ROWS-1:0]         sum_rows_i,
  output logic [COLS*SP*32-1:0]   colsum_o,
  // events this cycle: filter and ifmap scratchpad writes
  output logic [15:0]             ev_fw_o,
  output logic [15:0]             ev_iw_o
);
  localparam integer RowsI = ROWS;
  localparam integer ColsI = COLS;
  localparam [7:0]  Rows8 = RowsI[7:0];
  localparam [15:0] ColsW = ColsI[15:0];
  // Index widths of the byte selects: a PE picks within its own row's COLS weights and among
  // the ROWS ports, so each select is a COLS- or ROWS-way multiplexer, not a shifter over the
  // whole bus.
  localparam integer FIW = $clog2(COLS);  // COLS and ROWS are 2 or more
  localparam integer PIW = $clog2(ROWS);

  // The number of set bits of a row's event flags.
  function automatic logic [15:0] ones(input logic [COLS-1:0] b);
    ones = '0;
    for (int i = 0; i < COLS; i++) ones = ones + {15'd0, b[i]};
  endfunction

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    // Events: the PEs of this row that write a filter entry with a valid weight, or an ifmap
    // entry, this cycle, and the counts over rows 0..r (counted row by row, so that no
    // expression spans the whole array).
    logic [COLS-1:0] fw_b, iw_b;
    logic [15:0]     fw_up, iw_up, fw_n, iw_n;
    if (r == 0) begin : g_first
      assign fw_up = '0;
      assign iw_up = '0;
    end else begin : g_next
      assign fw_up = g_row[r-1].fw_n;
      assign iw_up = g_row[r-1].iw_n;
    end
    assign fw_n = fw_up + ones(fw_b);
    assign iw_n = iw_up + ones(iw_b);

    for (genvar c = 0; c < COLS; c++) begin : g_col
      logic act, listen, f_ok;
      logic [15:0] fsel;
      logic [FIW-1:0] fidx;
      logic [PIW-1:0] pidx;
      logic unused_port_hi;
      logic [COLS*8-1:0] wrow;
      logic [7:0] wbyte, ibyte, port_raw, port, batch;
      logic [SP*32-1:0] sh, acc;  // this PE's shadow psums; the sums of rows 0..r
      assign act  = row_act_i[r] && col_act_i[c];
      // filter network: byte h * p + f of the row's weight row
      assign fsel  = col_hp_i[c*16 +: 16] + {{(16-SPW){1'b0}}, fl_f_i};
      assign f_ok  = fl_cv_i[r] && fsel < nv_i && fsel < ColsW;
      assign wrow  = fl_rows_i[r*COLS*8 +: COLS*8];
      assign fidx  = fsel[FIW-1:0];  // fsel < COLS whenever f_ok
      assign wbyte = f_ok ? wrow[{fidx, 3'b000} +: 8] : 8'd0;
      // ifmap network: the batch and port of the PE's diagonal
      assign port_raw = col_br_i[c*8 +: 8] + row_i_i[r*8 +: 8];
      assign port     = port_raw >= Rows8 ? port_raw - Rows8 : port_raw;
      assign batch    = port_raw >= Rows8 ? col_bq_i[c*8 +: 8] + 8'd1 : col_bq_i[c*8 +: 8];
      assign listen = dl_en_i && act && row_v_i[r*8 +: 8] == dl_v_i && batch == dl_b_i;
      assign pidx   = port[PIW-1:0];  // port < ROWS: col_br_i and row_i_i are below ROWS
      assign unused_port_hi = ^port[7:PIW];
      assign ibyte  = dl_data_i[{pidx, 3'b000} +: 8];
      assign fw_b[c] = fl_en_i && act && f_ok;
      assign iw_b[c] = listen;

      hdx_rs_pe #(
        .SI(SI), .SF(SF), .SP(SP), .SIW(SIW), .SFW(SFW), .SPW(SPW)
      ) u_pe (
        .clk_i       (clk_i),
        .rst_ni      (rst_ni),
        .fw_en_i     (fl_en_i && act),
        .fw_addr_i   (fl_addr_i),
        .fw_data_i   (wbyte),
        .iw_en_i     (listen),
        .iw_addr_i   (dl_addr_i),
        .iw_data_i   (ibyte),
        .mac_en_i    (mac_en_i && act),  // idle PEs do not switch
        .mac_first_i (mac_first_i),
        .mac_f_i     (mac_f_i),
        .mac_fa_i    (mac_fa_i),
        .mac_ia_i    (mac_ia_i),
        .copy_i      (copy_i),
        .shadow_o    (sh)
      );

      // Vertical sums: each PE adds its shadow psums (if its row is summed) to the sums
      // coming from the PE above.
      for (genvar f = 0; f < SP; f++) begin : g_add
        if (r == 0) begin : g_top
          assign acc[f*32 +: 32] = sum_rows_i[r] ? sh[f*32 +: 32] : 32'd0;
        end else begin : g_below
          assign acc[f*32 +: 32] = g_row[r-1].g_col[c].acc[f*32 +: 32] +
                                   (sum_rows_i[r] ? sh[f*32 +: 32] : 32'd0);
        end
      end
      if (r == ROWS - 1) begin : g_out
        assign colsum_o[c*SP*32 +: SP*32] = acc;
      end
    end
  end

  assign ev_fw_o = g_row[ROWS-1].fw_n;
  assign ev_iw_o = g_row[ROWS-1].iw_n;
endmodule
