// Driver of the Verilated model of one accelerator configuration: reads a job (the three
// command streams and a DRAM image), runs the layer cycle by cycle with the DRAM model, and
// writes a result (status, event counters, DRAM image): one job file to one result file, or
// (--stream) any number of jobs from one stream, each on a fresh model instance. Built by hdx per
// configuration (sim/verilate.cpp); not a user-facing program. sim/hdx_tb.sv is its twin for
// Icarus and must draw the same random numbers in the same order.
//
// DRAM model (docs/architecture.md, "DRAM channels"): at most one read request and one write
// beat accepted per cycle; read data, and the write response of each beat, are due 1 +
// latency cycles after acceptance and are returned in order. With backpressure P > 0, each
// cycle four numbers are drawn from a seeded xorshift64*: request ready low, write ready low,
// a due read response held back, a due write response held back, each with probability P.
#include <verilated.h>
#if HDX_TRACE
#include <verilated_fst_c.h>
#endif

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vhdx_top.h"
#include "job.h"

namespace {

template <class T>
void put(T& port, const uint32_t* w, int n) {
  uint64_t v = n > 0 ? w[0] : 0;
  if (n > 1 && sizeof(T) > 4) v |= uint64_t(w[1]) << 32;
  port = static_cast<T>(v);
}
template <std::size_t N>
void put(VlWide<N>& port, const uint32_t* w, int n) {
  for (std::size_t i = 0; i < N; ++i) port[i] = static_cast<int>(i) < n ? w[i] : 0;
}
template <class T>
void put_bytes(T& port, const uint8_t* b, int n) {
  uint32_t w[16] = {};
  for (int i = 0; i < n; ++i) w[i / 4] |= uint32_t(b[i]) << (8 * (i % 4));
  put(port, w, (n + 3) / 4);
}
template <class T>
void get_bytes(const T& port, uint8_t* b, int n) {
  const uint64_t v = port;
  for (int i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
}
template <std::size_t N>
void get_bytes(const VlWide<N>& port, uint8_t* b, int n) {
  for (int i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(port[i / 4] >> (8 * (i % 4)));
}

struct Pending {
  uint64_t due;
  uint64_t tag;
  uint8_t data[64];
};

// xorshift64* (Vigna); the testbench computes the same sequence.
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
  // True with probability threshold / 2^53.
  bool hit(uint64_t threshold) { return (next() >> 11) < threshold; }
};

uint64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// Runs one job on a fresh model instance (so that no state carries from one job to the next,
// exactly as when each job had a process of its own).
hdx::SimResult run_job(hdx::SimJob& job) {
  hdx::SimResult res;
  auto ctx = std::make_unique<VerilatedContext>();
  // A failed assertion prints its message and lets the run go on; the loop stops on it.
  ctx->fatalOnError(false);
  auto top = std::make_unique<Vhdx_top>(ctx.get());
#if HDX_TRACE
  std::unique_ptr<VerilatedFstC> tfp;
  if (!job.fst_path.empty()) {
    ctx->traceEverOn(true);
    tfp = std::make_unique<VerilatedFstC>();
    top->trace(tfp.get(), 99);
    tfp->open(job.fst_path.c_str());
  }
#endif
  const uint32_t n_ld = static_cast<uint32_t>(job.ld.size() / job.ld_words);
  const uint32_t n_cmp = static_cast<uint32_t>(job.cmp.size() / job.cmp_words);
  const uint32_t n_st = static_cast<uint32_t>(job.st.size() / job.st_words);
  uint64_t t = 0;
  // The design has rising-edge flops only, so the falling edge is evaluated together with
  // the next cycle's inputs (the waveform still shows it as a step of its own).
  auto tick = [&]() {
    top->clk_i = 1;
    ctx->timeInc(1);
    top->eval();
#if HDX_TRACE
    if (tfp) tfp->dump(2 * t + 1);
#endif
    top->clk_i = 0;
    ctx->timeInc(1);
#if HDX_TRACE
    if (tfp) {
      top->eval();
      tfp->dump(2 * t + 2);
    }
#endif
    ++t;
  };

  // Reset, then configure and start (cycle 0 of the count is the start cycle).
  top->clk_i = 0;
  top->rst_ni = 0;
  top->eval();
  top->rst_ni = 1;
  top->eval();
  top->n_ld_i = n_ld;
  top->n_cmp_i = n_cmp;
  top->n_st_i = n_st;
  bool rsp_offered = false, ack_offered = false;
  std::deque<Pending> rsp;
  std::deque<uint64_t> acks;  // due cycles of write responses
  Rng rng{job.seed | 1};
  uint32_t i_ld = 0, i_cmp = 0, i_st = 0;
  uint32_t put_ld = ~0u, put_cmp = ~0u, put_st = ~0u;  // the commands on the ports
  const uint64_t size = job.dram.size();
  uint64_t cycle = 0;
  bool started = false;
  const auto loop_start = std::chrono::steady_clock::now();
  const uint64_t cpu_start = thread_cpu_ns();
  for (;; ++cycle) {
    const uint64_t p = job.backpressure;
    bool hold[4] = {false, false, false, false};
    if (p != 0)
      for (bool& h : hold) h = rng.hit(p);
    top->start_i = !started;
    top->rd_req_ready_i = !hold[0];
    top->wr_ready_i = !hold[1];
    // A command's words are written to its port once, when it becomes the offered one.
    top->ld_cmd_valid_i = i_ld < n_ld;
    if (i_ld < n_ld && i_ld != put_ld)
      put(top->ld_cmd_i, &job.ld[size_t(put_ld = i_ld) * job.ld_words], int(job.ld_words));
    top->cmp_cmd_valid_i = i_cmp < n_cmp;
    if (i_cmp < n_cmp && i_cmp != put_cmp)
      put(top->cmp_cmd_i, &job.cmp[size_t(put_cmp = i_cmp) * job.cmp_words], int(job.cmp_words));
    top->st_cmd_valid_i = i_st < n_st;
    if (i_st < n_st && i_st != put_st)
      put(top->st_cmd_i, &job.st[size_t(put_st = i_st) * job.st_words], int(job.st_words));
    // A response once offered stays offered until taken, so only a fresh one is held back.
    const bool rsp_now = !rsp.empty() && rsp.front().due <= cycle && (rsp_offered || !hold[2]);
    top->rd_rsp_valid_i = rsp_now;
    if (rsp_now) {
      put_bytes(top->rd_rsp_data_i, rsp.front().data, HDX_BPC);
      top->rd_rsp_tag_i = rsp.front().tag;
    }
    const bool ack_now = !acks.empty() && acks.front() <= cycle && (ack_offered || !hold[3]);
    top->wr_rsp_valid_i = ack_now;
    top->eval();

    // Handshakes that the coming edge completes.
    if (top->ld_cmd_valid_i && top->ld_cmd_ready_o) ++i_ld;
    if (top->cmp_cmd_valid_i && top->cmp_cmd_ready_o) ++i_cmp;
    if (top->st_cmd_valid_i && top->st_cmd_ready_o) ++i_st;
    rsp_offered = rsp_now && !top->rd_rsp_ready_o;
    if (rsp_now && top->rd_rsp_ready_o) rsp.pop_front();
    ack_offered = ack_now && !top->wr_rsp_ready_o;
    if (ack_now && top->wr_rsp_ready_o) acks.pop_front();
    if (top->rd_req_valid_o && top->rd_req_ready_i) {
      Pending p{};
      p.due = cycle + 1 + job.latency;
      p.tag = top->rd_req_tag_o;
      const uint64_t a = top->rd_req_addr_o, n = top->rd_req_len_o;
      if (a + n > size) {
        res.status = 2;
        res.message = "read of " + std::to_string(n) + " bytes at DRAM address " +
                      std::to_string(a) + " beyond the image of " + std::to_string(size);
        break;
      }
      for (uint64_t k = 0; k < n; ++k) p.data[k] = job.dram[a + k];
      rsp.push_back(p);
    }
    if (top->wr_valid_o && top->wr_ready_i) {
      const uint64_t a = top->wr_addr_o, n = top->wr_len_o;
      if (a + n > size) {
        res.status = 2;
        res.message = "write of " + std::to_string(n) + " bytes at DRAM address " +
                      std::to_string(a) + " beyond the image of " + std::to_string(size);
        break;
      }
      uint8_t b[64];
      get_bytes(top->wr_data_o, b, static_cast<int>(n));
      for (uint64_t k = 0; k < n; ++k) job.dram[a + k] = b[k];
      acks.push_back(cycle + 1 + job.latency);
    }
    tick();
    started = true;
    if (ctx->gotError()) {
      res.status = 4;
      res.message = "assertion failed in cycle " + std::to_string(cycle);
      break;
    }
    if (top->err_o) {
      static const char* const kEngine[3] = {"LD", "CMP", "ST"};
      res.status = 5;
      res.message = "illegal command: the";
      for (int e = 0; e < 3; ++e)
        if (top->err_o >> e & 1) res.message += std::string(" ") + kEngine[e];
      res.message += " engine flagged an illegal command in cycle " + std::to_string(cycle) +
                     "; commands taken: ld " + std::to_string(i_ld) + ", cmp " +
                     std::to_string(i_cmp) + ", st " + std::to_string(i_st);
      break;
    }
    if (top->done_o) break;
    if (cycle >= job.max_cycles) {
      res.status = 1;
      res.message = "done never rose within " + std::to_string(job.max_cycles) +
                    " cycles; commands taken: ld " + std::to_string(i_ld) + "/" +
                    std::to_string(n_ld) + ", cmp " + std::to_string(i_cmp) + "/" +
                    std::to_string(n_cmp) + ", st " + std::to_string(i_st) + "/" +
                    std::to_string(n_st);
      break;
    }
  }
  res.loop_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now() - loop_start)
                                          .count());
  res.loop_cpu_ns = thread_cpu_ns() - cpu_start;
  res.cycles_run = cycle + 1;
  const uint64_t c[hdx::kNumCounters] = {
      top->cnt_cycles_o,   top->cnt_macs_o,      top->cnt_dram_rd_bytes_o,
      top->cnt_dram_wr_bytes_o, top->cnt_ifmap_wr_o, top->cnt_ifmap_rd_o,
      top->cnt_weight_wr_o, top->cnt_weight_rd_o, top->cnt_param_wr_o,
      top->cnt_acc_rd_o,   top->cnt_acc_wr_o,    top->cnt_spad_ifmap_rd_o,
      top->cnt_spad_ifmap_wr_o, top->cnt_spad_filter_rd_o, top->cnt_spad_filter_wr_o,
      top->cnt_spad_psum_rd_o, top->cnt_spad_psum_wr_o};
  for (int k = 0; k < hdx::kNumCounters; ++k) res.counters[k] = c[k];
  res.dram = std::move(job.dram);
#if HDX_TRACE
  if (tfp) tfp->close();
#endif
  top->final();
  return res;
}

// --stream: jobs in frames on standard input, results in frames on standard output, until
// the input ends. What the model prints (assertion messages) goes to standard error.
int serve() {
  const int out = dup(1);
  if (out < 0 || dup2(2, 1) < 0) {
    std::perror("hdx_sim_model --stream");
    return 2;
  }
  std::vector<uint8_t> frame;
  try {
    while (hdx::read_frame(0, frame, "job stream")) {
      hdx::SimJob job = hdx::parse_job(frame.data(), frame.size(), "job stream");
      const hdx::SimResult res = run_job(job);
      std::fflush(stdout);
      if (!hdx::write_frame(out, hdx::result_image(res))) return 0;  // hdx has gone
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--stream") return serve();
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s JOB RESULT | %s --stream\n", argv[0], argv[0]);
    return 2;
  }
  hdx::SimJob job;
  try {
    job = hdx::read_job(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const hdx::SimResult res = run_job(job);
  try {
    hdx::write_result(argv[2], res);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
