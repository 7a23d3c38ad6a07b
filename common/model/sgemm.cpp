#include "common/model/sgemm.h"

#ifdef LOCKSTEP_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "common/util/error.h"

namespace lockstep {

void sgemm(const torch::Tensor& out, const torch::Tensor& a, bool transpose_a, const torch::Tensor& b, bool transpose_b, bool accumulate) {
#ifdef LOCKSTEP_HAVE_DNNL
  const int64_t m = a.size(transpose_a ? 1 : 0), k = a.size(transpose_a ? 0 : 1), n = b.size(transpose_b ? 0 : 1);
  const char ta = transpose_a ? 'T' : 'N', tb = transpose_b ? 'T' : 'N';
  const dnnl_status_t st = dnnl_sgemm(ta, tb, m, n, k, 1.0f, a.data_ptr<float>(), a.stride(0), b.data_ptr<float>(), b.stride(0),
                                      accumulate ? 1.0f : 0.0f, out.data_ptr<float>(), out.stride(0));
  LS_CHECK(st == dnnl_success, "dnnl_sgemm(" << ta << ", " << tb << ", " << m << ", " << n << ", " << k << ") returned status " << st);
#else
  torch::Tensor o = out;
  if (accumulate) o.addmm_(transpose_a ? a.t() : a, transpose_b ? b.t() : b);
  else torch::mm_out(o, transpose_a ? a.t() : a, transpose_b ? b.t() : b);
#endif
}

const char* sgemm_library() {
#ifdef LOCKSTEP_HAVE_DNNL
  return "oneDNN (dnnl_sgemm)";
#else
  return "LibTorch (BLAS)";
#endif
}

}  // namespace lockstep
