// .npy files: round trip, and refusal of bad files with the file named.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/io/npy.h"
#include "common/util/error.h"
#include "tests/proc.h"

using namespace lockstep;

TEST_CASE("write_npy / read_npy round trip with a 64-byte aligned header", "[io]") {
  const std::string path = test::temp_dir("npy") + "/a.npy";
  std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_npy(path, v.data(), {3, 2});
  const NpyArray a = read_npy(path);
  CHECK(a.shape == std::vector<int64_t>{3, 2});
  CHECK(a.data == v);
  const std::string bytes = npy_bytes(v.data(), {3, 2});
  CHECK((bytes.size() - v.size() * 4) % 64 == 0);
  CHECK(bytes.find("'shape': (3,2)") != std::string::npos);
  CHECK(npy_bytes(v.data(), {6}).find("'shape': (6,)") != std::string::npos);
}

TEST_CASE("bad .npy files are refused with the file named", "[io]") {
  std::vector<float> v(10, 1.0f);
  const std::string good = npy_bytes(v.data(), {5, 2});
  auto error = [](const std::string& bytes) {
    try {
      parse_npy(bytes, "x.npy");
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("hello world") == "x.npy: not a .npy file (bad magic)");
  CHECK_THAT(error(good.substr(0, good.size() - 4)), Catch::StartsWith("x.npy: truncated data"));
  std::string complex_type = good;
  complex_type.replace(complex_type.find("<f4"), 3, "<c8");
  CHECK_THAT(error(complex_type), Catch::StartsWith("x.npy: unsupported dtype '<c8' (expected float32 '<f4'"));
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  CHECK_THAT(error(fortran), Catch::Contains("Fortran-ordered"));
}
