#include "runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "errors.h"
#include "icarus.h"
#include "job.h"
#include "npy.h"
#include "schedule_ws.h"
#include "util.h"

namespace hdx {

LayerData random_layer_data(const Layer& l, uint64_t seed) {
  LayerData d;
  d.input = random_int8(static_cast<size_t>(l.in_size()), seed * 3 + 1);
  d.weight = random_int8(static_cast<size_t>(l.weight_count()), seed * 3 + 2);
  d.q = random_requant(l, seed * 3 + 3);
  return d;
}

namespace {

template <class T>
std::vector<T> load_tensor(const std::string& path, const std::vector<size_t>& shape) {
  const NpyArray a = read_npy(path);
  if (a.shape != shape)
    throw IoError(20, fmt::format("{}: shape ({}) does not fit the layer, which needs ({})",
                                  path, fmt::join(a.shape, ", "), fmt::join(shape, ", ")), 2);
  return a.as<T>();
}

}  // namespace

LayerData load_layer_data(const Layer& l, const std::string& dir) {
  const size_t oc = static_cast<size_t>(l.out_c);
  LayerData d;
  d.input = load_tensor<int8_t>(dir + "/input.npy", {size_t(l.in_h), size_t(l.in_w),
                                                     size_t(l.in_c)});
  d.weight = load_tensor<int8_t>(dir + "/weight.npy",
                                 {oc, size_t(l.kh), size_t(l.kw), size_t(l.cin_g())});
  d.q.bias = load_tensor<int32_t>(dir + "/bias.npy", {oc});
  d.q.mult = load_tensor<int32_t>(dir + "/mult.npy", {oc});
  d.q.shift = load_tensor<uint8_t>(dir + "/shift.npy", {oc});
  check_requant(l, d.q);
  return d;
}

namespace {
template <class T>
std::vector<uint32_t> flatten(const std::vector<T>& cmds) {
  std::vector<uint32_t> w;
  for (const T& c : cmds) {
    const auto p = pack(c);
    w.insert(w.end(), p.begin(), p.end());
  }
  return w;
}
}  // namespace

void set_commands(SimJob& job, const WsProgram& prog) {
  job.ld_words = static_cast<uint32_t>(ld_fields().size());
  job.cmp_words = static_cast<uint32_t>(cmp_fields().size());
  job.st_words = static_cast<uint32_t>(st_fields().size());
  job.ld = flatten(prog.ld);
  job.cmp = flatten(prog.cmp);
  job.st = flatten(prog.st);
}

void set_commands(SimJob& job, const RsProgram& prog) {
  job.ld_words = static_cast<uint32_t>(ld_fields().size());
  job.cmp_words = static_cast<uint32_t>(rs_fields().size());
  job.st_words = static_cast<uint32_t>(st_fields().size());
  job.ld = flatten(prog.ld);
  job.cmp = flatten(prog.pass);
  job.st = flatten(prog.st);
}

namespace {

uint32_t align64(uint64_t v) { return static_cast<uint32_t>((v + 63) / 64 * 64); }

void put32(std::vector<uint8_t>& m, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) m[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

std::string temp_base() {
  static std::atomic<int> n{0};
  const char* t = std::getenv("TMPDIR");
  return fmt::format("{}/hdx-sim-{}-{}", t && *t ? t : "/tmp", static_cast<long>(getpid()), n++);
}

}  // namespace

namespace {

// A layer made into a job, and what its result is checked against.
struct Prepared {
  LayerSim r;
  SimJob job;
  DramMap map;
  std::string what;  // "layer 'conv1'" or the caller's name of the job
  std::chrono::steady_clock::time_point t0;
};

Prepared prepare(const Layer& l, const Accelerator& a, const LayerData& d, const SimOptions& opt,
                 const std::vector<int8_t>* golden, const std::string& what) {
  if (!(opt.backpressure >= 0 && opt.backpressure < 1))
    throw SimError(16, fmt::format("backpressure {} is outside [0, 1)", opt.backpressure), 2);
  Prepared pr;
  pr.t0 = std::chrono::steady_clock::now();
  pr.what = what.empty() ? fmt::format("layer '{}'", l.name) : what;
  LayerSim& r = pr.r;
  r.name = l.name;
  r.model = layer_cost(l, a);
  r.golden_out = golden ? *golden : conv_golden(l, d.input, d.weight, d.q);

  // DRAM image: input, weights ([group][k][n]), params (9 bytes per channel), output.
  DramMap& map = pr.map;
  const long long K = l.k(), N = l.cout_g();
  map.in = 0;
  map.weight = align64(map.in + static_cast<uint64_t>(l.in_size()));
  map.param = align64(map.weight + static_cast<uint64_t>(l.weight_count()));
  map.out = align64(map.param + static_cast<uint64_t>(l.out_c) * kParamBytes);
  const uint64_t size = align64(map.out + static_cast<uint64_t>(l.out_size()));
  SimJob& job = pr.job;
  job.dram.assign(size, 0);
  for (size_t i = 0; i < d.input.size(); ++i) job.dram[map.in + i] = static_cast<uint8_t>(d.input[i]);
  for (int o = 0; o < l.out_c; ++o) {
    const long long g = o / N, n = o % N;
    for (long long k = 0; k < K; ++k)
      job.dram[map.weight + (g * K + k) * N + n] = static_cast<uint8_t>(d.weight[o * K + k]);
    const size_t p = map.param + static_cast<size_t>(o) * kParamBytes;
    put32(job.dram, p, static_cast<uint32_t>(d.q.bias[o]));
    put32(job.dram, p + 4, static_cast<uint32_t>(d.q.mult[o]));
    job.dram[p + 8] = d.q.shift[o];
  }

  if (a.dataflow == Dataflow::RS)
    set_commands(job, rs_program(l, a, map));
  else
    set_commands(job, ws_program(l, a, map));
  job.latency = static_cast<uint32_t>(a.dram_latency_cycles);
  job.backpressure = static_cast<uint64_t>(std::ldexp(opt.backpressure, 53));
  job.seed = opt.seed;
  r.backpressure = job.backpressure != 0;
  // Each stall kind slows its channel by 1 / (1 - P); the watchdog allows for all of them.
  const double slow = 1.0 / std::pow(1.0 - opt.backpressure, 4);
  job.max_cycles = static_cast<uint64_t>((static_cast<double>(r.model.cycles) * 4 + 100000) * slow);

  job.out_addr = map.out;
  job.out_bytes = static_cast<uint64_t>(l.out_size());
  return pr;
}

// Checks the result and compares it; `printed` is what the model printed while it ran.
LayerSim finish(Prepared& pr, const Layer& l, const SimModel& m, const SimResult& res,
                const std::string& printed) {
  LayerSim& r = pr.r;
  const std::string& what = pr.what;
  if (res.status == 1)
    throw SimError(12, fmt::format("{}: watchdog: {} (the model predicts {} cycles); "
                                   "rerun with --waves {} to see where it stalls",
                                   what, res.message, r.model.cycles, l.name));
  std::string message = res.message;
  if (res.status == 4 && m.simulator == Simulator::Verilator) {
    // The model printed "[time] %Error: file:line: Assertion failed in TOP...: rule: text".
    const auto p = printed.find("Assertion failed in");
    if (p != std::string::npos)
      message += ": " + printed.substr(p, printed.find('\n', p) - p);
  }
  if (res.status == 0 && res.dram.size() != pr.job.dram.size())
    throw SimError(11, fmt::format("{}: the result holds {} DRAM bytes, the job {}", what,
                                   res.dram.size(), pr.job.dram.size()));
  if (res.status != 0)
    throw SimError(13, fmt::format("{} on {}: {}", what, simulator_name(m.simulator), message));

  const uint64_t* c = res.counters;
  r.rtl_cycles = static_cast<long long>(c[0]);
  r.rtl.macs = static_cast<long long>(c[1]);
  r.rtl.dram_rd_bytes = static_cast<long long>(c[2]);
  r.rtl.dram_wr_bytes = static_cast<long long>(c[3]);
  r.rtl.ifmap_wr = static_cast<long long>(c[4]);
  r.rtl.ifmap_rd = static_cast<long long>(c[5]);
  r.rtl.weight_wr = static_cast<long long>(c[6]);
  r.rtl.weight_rd = static_cast<long long>(c[7]);
  r.rtl.param_wr = static_cast<long long>(c[8]);
  r.rtl.acc_rd = static_cast<long long>(c[9]);
  r.rtl.acc_wr = static_cast<long long>(c[10]);
  r.rtl.spad_ifmap_rd = static_cast<long long>(c[11]);
  r.rtl.spad_ifmap_wr = static_cast<long long>(c[12]);
  r.rtl.spad_filter_rd = static_cast<long long>(c[13]);
  r.rtl.spad_filter_wr = static_cast<long long>(c[14]);
  r.rtl.spad_psum_rd = static_cast<long long>(c[15]);
  r.rtl.spad_psum_wr = static_cast<long long>(c[16]);
  r.rtl_out.resize(static_cast<size_t>(l.out_size()));
  for (size_t i = 0; i < r.rtl_out.size(); ++i)
    r.rtl_out[i] = static_cast<int8_t>(res.dram[pr.map.out + i]);
  for (size_t i = 0; i < r.rtl_out.size(); ++i) r.mismatches += r.rtl_out[i] != r.golden_out[i];
  r.outputs_match = r.mismatches == 0;
  r.loop_seconds = static_cast<double>(res.loop_ns) * 1e-9;
  r.loop_cpu_seconds = static_cast<double>(res.loop_cpu_ns) * 1e-9;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - pr.t0).count();
  return std::move(r);
}

// Runs one job in a simulator process of its own, through job and result files (or the
// Icarus testbench's files); `*printed` gets what the process printed.
SimResult run_job_process(const SimModel& m, const SimJob& job, const std::string& what,
                          std::string* printed) {
  const std::string base = temp_base();
  const std::string job_path = base + ".job", res_path = base + ".res", dir = base + ".d";
  auto clean = [&] {
    std::error_code ec;
    std::filesystem::remove(job_path, ec);
    std::filesystem::remove(res_path, ec);
    std::filesystem::remove_all(dir, ec);
  };
  SimResult res;
  try {
    if (m.simulator == Simulator::Icarus) {
      res = run_icarus_job(m, job, dir);
    } else {
      write_job(job_path, job);
      const int rc = run_command({m.exe, job_path, res_path}, printed);
      if (rc != 0)
        throw SimError(10, fmt::format("{}: model {} exited with {}: {}", what, m.exe, rc,
                                       printed->substr(0, 300)));
      res = read_result(res_path);
    }
  } catch (const std::runtime_error& e) {
    clean();
    if (dynamic_cast<const Error*>(&e)) throw;
    throw SimError(11, fmt::format("{}: {}", what, e.what()));
  }
  clean();
  return res;
}

}  // namespace

LayerSim simulate_layer(const SimModel& m, const Layer& l, const Accelerator& a,
                        const LayerData& d, const std::string& fst, const SimOptions& opt) {
  Prepared pr = prepare(l, a, d, opt, nullptr, "");
  pr.job.fst_path = fst;
  std::string out;
  const SimResult res = run_job_process(m, pr.job, pr.what, &out);
  return finish(pr, l, m, res, out);
}

LayerSim simulate_layer(SimWorker& w, const Layer& l, const Accelerator& a, const LayerData& d,
                        const SimOptions& opt, const std::vector<int8_t>* golden,
                        const std::string& what) {
  Prepared pr = prepare(l, a, d, opt, golden, what);
  std::string printed;
  const SimResult res = w.run(pr.job, pr.what, &printed);
  return finish(pr, l, w.model(), res, printed);
}

namespace {

std::string ended(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "ended";
}

std::string file_from(const std::string& path, long long from) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  f.seekg(from);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

SimWorker::SimWorker(SimModel m, std::string name) : m_(std::move(m)), name_(std::move(name)) {}

SimWorker::~SimWorker() {
  try {
    stop();
  } catch (...) {
  }
}

void SimWorker::start() {
  const std::string base = temp_base();
  err_path_ = base + ".err";
  err_read_ = 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw SimError(15, fmt::format("{}: socketpair failed: {}", name_, std::strerror(errno)));
  const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (err < 0) {
    close(sv[0]);
    close(sv[1]);
    throw SimError(15, fmt::format("{}: cannot create {}: {}", name_, err_path_, std::strerror(errno)));
  }
  const char* argv[] = {m_.exe.c_str(), "--stream", nullptr};
  const pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    close(err);
    throw SimError(15, fmt::format("{}: fork failed: {}", name_, std::strerror(errno)));
  }
  if (pid == 0) {  // only async-signal-safe calls until exec
    dup2(sv[1], 0);
    dup2(sv[1], 1);
    dup2(err, 2);
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  close(sv[1]);
  close(err);
  pid_ = pid;
  fd_ = sv[0];
}

void SimWorker::died(const std::string& what, const std::string& how) {
  int status = 0;
  std::string end = "broke the job stream";
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (pid_ > 0) {
    // The end of the stream may come a moment before the process can be waited for; one
    // that broke the stream without dying is ended here.
    pid_t w = 0;
    for (int i = 0; i < 200 && (w = waitpid(pid_, &status, WNOHANG)) == 0; ++i) usleep(10000);
    if (w == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      end = "broke the job stream and was stopped";
    } else {
      end = ended(status);
    }
  }
  const long pid = static_cast<long>(pid_);
  pid_ = -1;
  std::string printed = file_from(err_path_, err_read_);
  std::error_code ec;
  std::filesystem::remove(err_path_, ec);
  while (!printed.empty() && (printed.back() == '\n' || printed.back() == ' ')) printed.pop_back();
  throw SimError(15, fmt::format("{} (model process {}) {} while it held {}{}{}", name_, pid, end,
                                 what, how.empty() ? "" : "; " + how,
                                 printed.empty() ? "" : "; it printed: " +
                                     printed.substr(printed.size() > 300 ? printed.size() - 300 : 0)));
}

SimResult SimWorker::run(const SimJob& job, const std::string& what, std::string* printed) {
  if (m_.simulator == Simulator::Icarus || !job.fst_path.empty() || m_.trace) {
    // One process per job, as simulate_layer(SimModel) runs it.
    std::string out;
    const SimResult res = run_job_process(m_, job, what, &out);
    if (printed) *printed = out;
    return res;
  }
  if (pid_ < 0) start();
  if (!write_frame(fd_, job_image(job))) died(what, "the job could not be sent");
  std::vector<uint8_t> frame;
  bool got = false;
  try {
    got = read_frame(fd_, frame, fmt::format("{} result stream", name_));
  } catch (const std::runtime_error& e) {
    died(what, e.what());
  }
  if (!got) died(what, "");
  SimResult res;
  try {
    res = parse_result(frame.data(), frame.size(), fmt::format("{} result", name_));
  } catch (const std::runtime_error& e) {
    died(what, e.what());
  }
  if (res.status != 0) {  // what the model printed explains a failure (an assertion's text)
    std::string p = file_from(err_path_, err_read_);
    err_read_ += static_cast<long long>(p.size());
    if (printed) *printed = std::move(p);
  }
  return res;
}

void SimWorker::stop() {
  if (fd_ >= 0) close(fd_);  // the model sees the end of its stream and exits
  fd_ = -1;
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (!err_path_.empty()) {
    std::error_code ec;
    std::filesystem::remove(err_path_, ec);
  }
}

}  // namespace hdx
