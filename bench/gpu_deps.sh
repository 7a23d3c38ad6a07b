#!/usr/bin/env bash
# Gathers the Debian 12 packages Lockstep's CMake build needs besides LibTorch and CUDA into one relocatable prefix,
# .gpu_deps/ (ignored by git), for a GPU machine that has PyTorch, CUDA, CMake and ninja but no package registry and
# none of Debian's -dev packages: the device tool carries the folder there beside the working tree, and
# bench/gpu_check.sh sources .gpu_deps/env.sh before it configures the build. Runs here, on Debian 12 (root or sudo
# for `apt-get update` only when the package lists are missing); needs no build and compiles nothing of Lockstep.
#
#   bench/gpu_deps.sh            # fetch, extract, prune, relocate, write .gpu_deps/env.sh, then the self-check
#   GPU_DEPS_VERIFY=0 bench/gpu_deps.sh   # without the self-check
#   bench/gpu_deps.sh --verify   # only the self-check of an existing .gpu_deps
#
# What it does:
#  1. `apt-get download` (the installed version where one is installed, so the prefix is what this machine builds
#     with) of the seed packages below, `dpkg -x` into .gpu_deps/; docs, man pages, locales, static libraries (but
#     Catch2's libCatch2WithMain.a, which its CMake targets name), Fortran and Java bindings are pruned.
#  2. Open MPI's plug-ins that need libraries a single-machine GPU check does not use (UCX, libfabric, verbs, PSM,
#     netlink) are deleted, and whatever needed them in turn; then the shared-library closure: every NEEDED soname
#     of every ELF file that is neither in the prefix nor on the skip list below is looked up with `dpkg -S` and its
#     package fetched, until nothing is missing.
#  3. Relocation: absolute symlinks made relative; every ELF file gets a RUNPATH of $ORIGIN/... pointing at the
#     prefix's library folder (patchelf, fetched into a temporary folder, not installed), so nothing needs
#     LD_LIBRARY_PATH; the .pc files' prefixes become ${pcfiledir}/...; cairo.pc loses its Requires.private (the
#     X11/fontconfig/... -dev packages are not carried: Lockstep links libcairo.so, whose own dependencies are
#     carried as runtime libraries); Debian's alternatives (mpirun, mpiexec, mpicc, mpi*.pc) become plain links.
#  4. .gpu_deps/env.sh: PATH, PKG_CONFIG_PATH, CMAKE_PREFIX_PATH, OPAL_PREFIX (Open MPI finds its plug-ins, help
#     files and wrapper data through it), OPAL_SYSCONFDIR, PMIX_PREFIX and friends. LD_LIBRARY_PATH is deliberately
#     not set: the RUNPATHs make it unnecessary, and it would put these Debian libraries (libexpat, libpng, ...) in
#     front of the GPU machine's own for every program, python3 included.
#  5. Prints the size and fails above 60 MiB (the device tool carries 64 MiB in all).
#  6. The self-check (as root, in a private mount namespace, so nothing outside this script sees it): hides the
#     system's Open MPI, PMIx, protobuf, cairo, webp, stb, Catch2, CLI11, nlohmann-json, pkgconf and ssh, copies the
#     prefix to another folder and hides the original, then configures a tiny CMake project (not Lockstep) with the
#     same find_package/pkg_check_modules calls as CMakeLists.txt, checks that every result lies inside the copied
#     prefix, builds one small C++ file against all of them, runs it alone (an MPI singleton) and under
#     `mpirun -np 2`, runs `mpirun -np 2 hostname`, and checks with ldd that every library outside the skip list
#     resolves inside the prefix.
#
# Skipped on purpose (an Ubuntu 24.04 image with CUDA and PyTorch has them; newer versions there are compatible):
#   glibc (libc, libm, libdl, libpthread, librt, libutil, libresolv, ld-linux), libstdc++6, libgcc-s1, and zlib1g's
#   runtime (libz.so.1; zlib1g-dev's headers are carried and its libz.so points at /usr/lib/x86_64-linux-gnu/libz.so.1).
# Not carried at all: LibTorch, CUDA, NCCL (the GPU machine's PyTorch wheel has them), OpenBLAS/oneDNN (CPU only),
# Open MPI's UCX/OFI/verbs/PSM transports, Fortran/Java/OpenSHMEM bindings, the -dev packages of cairo's X11 stack.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOT=$REPO/.gpu_deps
ARCH=x86_64-linux-gnu
LIMIT_MIB=60

# --- what to fetch ------------------------------------------------------------------------------------------------
SEEDS=(
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common           # find_package(MPI), mpirun for the [mpi] tests
  libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler  # find_package(Protobuf), protoc
  catch2 libcli11-dev nlohmann-json3-dev                          # header-only, with CMake configs
  libcairo2-dev libcairo2                                         # pkg_check_modules(cairo)
  libstb-dev libstb0                                              # find_path/find_library(stb)
  libwebp-dev libwebp7 libwebpmux3 libwebpdemux2                  # pkg_check_modules(libwebp)
  zlib1g-dev                                                      # find_package(ZLIB): headers (runtime skipped)
  pkgconf pkgconf-bin libpkgconf3                                 # find_package(PkgConfig)
)
# sonames assumed present on the GPU machine (see the header)
SKIP_RE='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|libresolv\.so\.2|libanl\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libz\.so\.1)$'
# an ELF file needing one of these is deleted (Open MPI transports and bindings a one-machine GPU check does not use)
EXCLUDE_RE='^(libucp|libucs|libuct|libucm|libfabric|libibverbs|librdmacm|libpsm_infinipath|libpsm2|libnl-3|libnl-route-3|libgfortran|libquadmath|libjvm|libmca_common_ucx|libmca_common_ofi|libmca_common_verbs)\.'

say() { echo "gpu_deps: $*"; }
die() { echo "gpu_deps: error: $*" >&2; exit 1; }
is_elf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(od -An -N4 -tx1 "$1" 2>/dev/null | tr -d ' \n')" = 7f454c46 ]; }
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
size_mib() { du -s --apparent-size -B1 "$1" | awk '{printf "%.1f", $1 / 1048576}'; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

# ================================================================================================================
# the self-check (also run at the end of a build): see the header, point 6
# ================================================================================================================
verify() {
  [ -f "$ROOT/env.sh" ] || die "no $ROOT/env.sh: run bench/gpu_deps.sh first"
  if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
    say "self-check skipped: needs root and unshare -m (a private mount namespace)"; return 0
  fi
  local V=$WORK/verify
  mkdir -p "$V/elsewhere" "$V/proj"
  cp -a "$ROOT" "$V/elsewhere/.gpu_deps"
  cat > "$V/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(depcheck C CXX)
set(CMAKE_CXX_STANDARD 17)
# the same calls as Lockstep's CMakeLists.txt
find_package(MPI REQUIRED COMPONENTS C)
find_package(Protobuf REQUIRED)
find_package(Catch2 2 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
find_path(STB_INCLUDE_DIR stb/stb_image.h REQUIRED)
find_library(STB_LIBRARY stb REQUIRED)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp)
include(Catch)  # catch_discover_tests, from Catch2's CMake folder
get_target_property(CATCH_INC Catch2::Catch2 INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(CLI11_INC CLI11::CLI11 INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(JSON_INC nlohmann_json::nlohmann_json INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(PROTOC protobuf::protoc IMPORTED_LOCATION_NOCONFIG)
if(NOT PROTOC)
  get_target_property(PROTOC protobuf::protoc IMPORTED_LOCATION)
endif()
set(OUT "")
foreach(v MPI_C_INCLUDE_DIRS MPI_C_LIBRARIES MPIEXEC_EXECUTABLE MPI_C_COMPILER Protobuf_INCLUDE_DIRS Protobuf_LIBRARIES
          Protobuf_PROTOC_EXECUTABLE PROTOC Protobuf_VERSION Catch2_DIR CATCH_INC Catch2_VERSION CLI11_DIR CLI11_INC
          nlohmann_json_DIR JSON_INC ZLIB_INCLUDE_DIRS ZLIB_LIBRARIES PKG_CONFIG_EXECUTABLE CAIRO_INCLUDE_DIRS
          CAIRO_LINK_LIBRARIES STB_INCLUDE_DIR STB_LIBRARY WEBP_INCLUDE_DIRS WEBP_LINK_LIBRARIES)
  message(STATUS "depcheck ${v} = ${${v}}")
  string(APPEND OUT "${v}=${${v}}\n")
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/found.txt "${OUT}")
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/m.pb.cc ${CMAKE_BINARY_DIR}/m.pb.h
  COMMAND protobuf::protoc --proto_path=${CMAKE_SOURCE_DIR} --cpp_out=${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}/m.proto
  DEPENDS ${CMAKE_SOURCE_DIR}/m.proto protobuf::protoc)
add_executable(depcheck main.cpp ${CMAKE_BINARY_DIR}/m.pb.cc)
target_include_directories(depcheck PRIVATE ${CMAKE_BINARY_DIR} ${Protobuf_INCLUDE_DIRS} ${STB_INCLUDE_DIR})
target_compile_definitions(depcheck PRIVATE OMPI_SKIP_MPICXX=1)
target_link_libraries(depcheck PRIVATE MPI::MPI_C ${Protobuf_LIBRARIES} PkgConfig::CAIRO PkgConfig::WEBP ${STB_LIBRARY}
                      ZLIB::ZLIB CLI11::CLI11 nlohmann_json::nlohmann_json)
target_link_options(depcheck PRIVATE "LINKER:--disable-new-dtags")  # as Lockstep links (DT_RPATH)
CM
  cat > "$V/proj/m.proto" <<'PB'
syntax = "proto2";
package depcheck;
message M { optional string name = 1; optional int32 n = 2; }
PB
  cat > "$V/proj/main.cpp" <<'CPP'
// depcheck: one call into every library Lockstep takes from .gpu_deps (not Lockstep code)
#include <mpi.h>
#include <cairo.h>
#include <webp/decode.h>
#include <stb/stb_image.h>
#include <zlib.h>
#include <google/protobuf/text_format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <cstdio>
#include "m.pb.h"
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0, sum = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int one = 1;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  depcheck::M m;
  google::protobuf::TextFormat::ParseFromString("name: \"x\" n: 7", &m);
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 8, 8);
  int w = 0, h = 0;
  stbi_info_from_memory(reinterpret_cast<const unsigned char*>("x"), 1, &w, &h, nullptr);
  CLI::App app("depcheck");
  nlohmann::json j = {{"n", m.n()}};
  std::printf("depcheck rank %d of %d: allreduce %d, protobuf n=%d, cairo %s status %d, webp %x, zlib %s, json %s\n",
              rank, size, sum, m.n(), cairo_version_string(), cairo_surface_status(s), WebPGetDecoderVersion(),
              zlibVersion(), j.dump().c_str());
  cairo_surface_destroy(s);
  MPI_Finalize();
  return (sum == size && m.n() == 7) ? 0 : 1;
}
CPP
  # the script run inside the namespace
  cat > "$V/inside.sh" <<'SH'
set -euo pipefail
ORIG=$1 COPY=$2 V=$3
fail=0
check() { if "$@"; then :; else echo "SELF-CHECK FAILED: $*"; fail=1; fi; }
hide_dir() { [ -d "$1" ] && mount -t tmpfs -o size=1m,mode=755 none "$1"; true; }
hide_file() { local f; f=$(readlink -f "$1" 2>/dev/null) || return 0; [ -f "$f" ] && mount --bind /dev/null "$f"; true; }
A=x86_64-linux-gnu
for d in /usr/include/google /usr/include/catch2 /usr/include/CLI /usr/include/nlohmann /usr/include/cairo /usr/include/stb \
         /usr/include/webp /usr/lib/$A/openmpi /usr/lib/$A/pmix2 /usr/share/openmpi /etc/openmpi /usr/lib/$A/fortran \
         /usr/lib/cmake/Catch2 /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json /usr/lib/$A/pkgconfig /usr/share/pkgconfig \
         /usr/lib/$A/cmake/protobuf; do hide_dir "$d"; done
for f in /usr/include/zlib.h /usr/bin/protoc /usr/bin/orterun /usr/bin/orted /usr/bin/opal_wrapper /usr/bin/pkgconf /usr/bin/ssh \
         /usr/lib/$A/libmpi.so.40 /usr/lib/$A/libopen-rte.so.40 /usr/lib/$A/libopen-pal.so.40 /usr/lib/$A/libhwloc.so.15 \
         /usr/lib/$A/libevent_core-2.1.so.7 /usr/lib/$A/libevent_pthreads-2.1.so.7 /usr/lib/$A/libmunge.so.2 \
         /usr/lib/$A/libprotobuf.so.32 /usr/lib/$A/libprotobuf-lite.so.32 /usr/lib/$A/libprotoc.so.32 /usr/lib/$A/libcairo.so.2 \
         /usr/lib/$A/libpixman-1.so.0 /usr/lib/$A/libwebp.so.7 /usr/lib/$A/libstb.so.0 /usr/lib/$A/libpkgconf.so.3; do hide_file "$f"; done
mount -t tmpfs -o size=1m none "$ORIG"   # the prefix where it was built: nothing may still point there
echo "self-check: system copies hidden; the prefix now lives at $COPY"
cd "$V"
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH OPAL_PREFIX LD_LIBRARY_PATH
export PATH=/usr/local/bin:/usr/bin:/bin
# shellcheck disable=SC1091
source "$COPY/env.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "self-check: which mpirun: $(command -v mpirun); pkg-config: $(command -v pkg-config); protoc: $(protoc --version)"
check test "$(command -v mpirun)" = "$COPY/usr/bin/mpirun"
echo "self-check: pkg-config cairo libwebp: $(pkg-config --cflags --libs cairo libwebp)"
check pkg-config --exists cairo libwebp protobuf zlib nlohmann_json catch2 ompi-c
ompi_info --path all | grep -E "Prefix|Libdir|Pkglibdir|Pkgdatadir|Sysconfdir" | sed 's/^ */self-check: ompi_info: /'
check bash -c "ompi_info --path all | grep -q 'Pkglibdir: $COPY/'"
echo "self-check: mpicc -showme: $(mpicc -showme)"
GEN=(); command -v ninja > /dev/null && GEN=(-G Ninja)
if ! nice -n 19 cmake "${GEN[@]}" -S proj -B build -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1; then
  echo "SELF-CHECK FAILED: cmake configure"; cat cmake.log; exit 1
fi
grep "depcheck " cmake.log | sed 's/^-- /self-check: /'
# every dependency found inside the copied prefix (ZLIB's libz.so is a link there to the system's libz.so.1)
while IFS='=' read -r k v; do
  case $k in Protobuf_VERSION | Catch2_VERSION) continue ;; esac
  for p in ${v//;/ }; do
    case $p in -*) continue ;; esac
    case $p in "$COPY"/*) ;; *) echo "SELF-CHECK FAILED: $k = $p lies outside the prefix"; fail=1 ;; esac
  done
done < build/found.txt
if ! nice -n 19 cmake --build build -j 1 > build.log 2>&1; then
  echo "SELF-CHECK FAILED: building the one-file check"; cat build.log; exit 1
fi
echo "self-check: built build/depcheck; its libraries:"
ldd build/depcheck | sed 's/^/self-check:   /'
if ldd build/depcheck | grep -q "not found"; then echo "SELF-CHECK FAILED: ldd says not found"; fail=1; fi
# every library outside the skip list from the prefix
ldd build/depcheck | awk '/=>/ {print $1, $3}' | while read -r so path; do
  case $so in linux-vdso* | ld-linux* | libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | libstdc++.so.6 | libgcc_s.so.1 | libz.so.1 | libresolv.so.2 | libutil.so.1) continue ;; esac
  case $path in "$COPY"/*) ;; *) echo "SELF-CHECK FAILED: $so resolves to $path"; exit 1 ;; esac
done || fail=1
check timeout 60 build/depcheck                           # alone: an MPI singleton (forks orted from OPAL_PREFIX/bin)
check timeout 60 mpirun --oversubscribe -np 2 build/depcheck
out=$(timeout 60 mpirun --oversubscribe -np 2 hostname) || { echo "SELF-CHECK FAILED: mpirun -np 2 hostname"; fail=1; }
echo "self-check: mpirun -np 2 hostname: $(echo "$out" | tr '\n' ' ')"
check test "$(echo "$out" | wc -l)" -eq 2
# the prefix's own programs and every ELF file it holds resolve their libraries
nf=0
while IFS= read -r -d '' f; do
  if [ "$(od -An -N4 -tx1 "$f" | tr -d ' \n')" = 7f454c46 ] && ldd "$f" 2>/dev/null | grep -q "not found"; then
    echo "SELF-CHECK FAILED: $f: $(ldd "$f" | grep 'not found' | tr -s ' \t' ' ')"; nf=1
  fi
done < <(find "$COPY" -type f -print0)
[ $nf -eq 0 ] && echo "self-check: every ELF file in the prefix resolves its libraries (ldd)" || fail=1
[ $fail -eq 0 ] && echo "self-check: passed" || echo "self-check: FAILED"
exit $fail
SH
  say "self-check in a private mount namespace (the rest of the machine sees nothing of it)"
  unshare -m --propagation private bash "$V/inside.sh" "$ROOT" "$V/elsewhere/.gpu_deps" "$V"
}

if [ "${1:-}" = --verify ]; then verify; exit; fi

# ================================================================================================================
# fetch and extract
# ================================================================================================================
if ! ls /var/lib/apt/lists/*_Packages* > /dev/null 2>&1; then
  say "no package lists: apt-get update"
  $SUDO apt-get update -qq
fi
mkdir -p "$WORK/debs" "$WORK/tools"
chmod 755 "$WORK" "$WORK/debs"
fetch() {  # packages...: downloads into $WORK/debs: the installed version where the archive still has it, else the candidate
  local p v specs=()
  for p in "$@"; do
    v=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null | sed -n 's/^install ok installed //p') || v=""
    if [ -n "$v" ] && apt-cache madison "$p" 2>/dev/null | awk -F'|' -v v="$v" '{gsub(/ /, "", $2)} $2 == v {f = 1} END {exit !f}'; then specs+=("$p=$v")
    else
      [ -n "$v" ] && say "$p: the installed $v is not in the package lists; taking the candidate"
      specs+=("$p")
    fi
  done
  (cd "$WORK/debs" && apt-get download -q=2 -o APT::Sandbox::User=root "${specs[@]}" > /dev/null) || die "apt-get download ${specs[*]} failed"
}
fetch patchelf
dpkg -x "$WORK"/debs/patchelf_*.deb "$WORK/tools"
rm -f "$WORK"/debs/patchelf_*.deb
PATCHELF=$WORK/tools/usr/bin/patchelf
"$PATCHELF" --version > /dev/null

rm -rf "$ROOT"
mkdir -p "$ROOT"
declare -A HAVE_PKG
extract_all() {  # extracts every .deb in $WORK/debs into the prefix and moves it to $WORK/done
  local d p
  mkdir -p "$WORK/done"
  for d in "$WORK"/debs/*.deb; do
    [ -e "$d" ] || continue
    p=$(dpkg-deb -f "$d" Package)
    dpkg -x "$d" "$ROOT"
    HAVE_PKG[$p]=$(dpkg-deb -f "$d" Version)
    mv "$d" "$WORK/done/"
  done
  # Debian 12 is merged-/usr: a package that still ships /lib goes to /usr/lib
  if [ -d "$ROOT/lib" ] && [ ! -L "$ROOT/lib" ]; then
    cp -a "$ROOT/lib/." "$ROOT/usr/lib/"; rm -rf "${ROOT:?}/lib"
  fi
}
# ELF files of the prefix and their NEEDED sonames, read once per file (headers and data are not looked at)
declare -A NEEDS=() SONAME=()
scan_elves() {
  local f
  for f in "${!NEEDS[@]}"; do [ -e "$f" ] || unset "NEEDS[$f]"; done
  while IFS= read -r -d '' f; do
    [ -n "${NEEDS[$f]+x}" ] && continue
    is_elf "$f" || continue
    NEEDS[$f]=$(needed "$f" | tr '\n' ' ')
    SONAME[$f]=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  done < <(find "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/usr/lib" -type f ! -name '*.h' ! -name '*.hpp' ! -name '*.cmake' \
    ! -name '*.pc' ! -name '*.txt' ! -name '*.a' -print0 2>/dev/null)
}
declare -A GONE=()   # sonames deleted by the pruning below
prune() {
  rm -rf "$ROOT"/usr/share/{doc,man,info,locale,lintian,bug,gtk-doc,java,bash-completion} "$ROOT/usr/lib/$ARCH/fortran"
  find "$ROOT" \( -name '*.a' ! -name libCatch2WithMain.a \) -delete
  find "$ROOT" \( -name '*.la' -o -name '*.jar' -o -name 'mpif*' -o -name 'libmpi_mpifh*' -o -name 'libmpi_usempi*' \
    -o -name 'libmpi_java*' -o -name 'mpijavac*' -o -name 'libompitrace*' \) -exec rm -rf {} + 2>/dev/null || true
  # cairo's sub-.pc files require the X11/glib -dev packages; Lockstep asks for cairo only
  find "$ROOT/usr/lib/$ARCH/pkgconfig" -name 'cairo-*.pc' -delete 2>/dev/null || true
  scan_elves
  # an ELF file that needs an excluded library goes, and so does whatever needs it in turn
  local changed=1 f n
  while [ $changed -eq 1 ]; do
    changed=0
    for f in "${!NEEDS[@]}"; do
      for n in ${NEEDS[$f]}; do
        if [[ $n =~ $EXCLUDE_RE ]] || [ -n "${GONE[$n]:-}" ]; then
          [ -n "${SONAME[$f]}" ] && GONE[${SONAME[$f]}]=1
          echo "${f#"$ROOT"/} (needs $n)" >> "$WORK/pruned.txt"
          rm -f "$f"; unset "NEEDS[$f]"; changed=1; break
        fi
      done
    done
  done
}
say "fetching ${#SEEDS[@]} seed packages"
fetch "${SEEDS[@]}"
extract_all
prune

# --- the shared-library closure ------------------------------------------------------------------------------------
LIBDIR=$ROOT/usr/lib/$ARCH
round=0
while :; do
  round=$((round + 1))
  declare -A MISSING=()
  for f in "${!NEEDS[@]}"; do
    for n in ${NEEDS[$f]}; do
      [[ $n =~ $SKIP_RE ]] && continue
      [ -e "$LIBDIR/$n" ] && continue
      MISSING[$n]=1
    done
  done
  [ ${#MISSING[@]} -eq 0 ] && break
  [ $round -gt 8 ] && die "the closure does not converge: ${!MISSING[*]}"
  pkgs=()
  for n in "${!MISSING[@]}"; do
    p=$(dpkg -S "*/$n" 2>/dev/null | grep -v -- '-dev:' | head -n 1 | cut -d: -f1) || true
    [ -n "$p" ] || die "no installed package provides $n (install it here, or add it to the skip list with a reason)"
    if [ -n "${HAVE_PKG[$p]:-}" ]; then die "$n is missing although $p was extracted"; fi
    echo "$n -> $p" >> "$WORK/closure.txt"
    pkgs+=("$p")
  done
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  say "closure round $round: ${pkgs[*]}"
  fetch "${pkgs[@]}"
  extract_all
  prune
done

# ================================================================================================================
# relocate
# ================================================================================================================
# Debian's alternatives, as plain relative links
ln -sfn mpirun.openmpi "$ROOT/usr/bin/mpirun"
ln -sfn mpiexec.openmpi "$ROOT/usr/bin/mpiexec"
ln -sfn mpicc.openmpi "$ROOT/usr/bin/mpicc"
ln -sfn mpicxx.openmpi "$ROOT/usr/bin/mpicxx"
for alt in mpi:ompi mpi-c:ompi-c mpi-cxx:ompi-cxx; do
  ln -sfn "../openmpi/lib/pkgconfig/${alt#*:}.pc" "$LIBDIR/pkgconfig/${alt%%:*}.pc"
done
# zlib1g-dev's libz.so: the GPU machine's own runtime (skipped above)
ln -sfn "/usr/lib/$ARCH/libz.so.1" "$LIBDIR/libz.so"

# absolute symlinks inside the prefix become relative; links to what is not carried go
while IFS= read -r -d '' l; do
  t=$(readlink "$l")
  [ "$l" = "$LIBDIR/libz.so" ] && continue
  if [[ $t == /* ]]; then
    if [ -e "$ROOT$t" ]; then ln -sfn "$(realpath -s --relative-to="$(dirname "$l")" "$ROOT$t")" "$l"
    else echo "${l#"$ROOT"/} -> $t (not carried)" >> "$WORK/dropped_links.txt"; rm -f "$l"; fi
  elif [ ! -e "$l" ]; then
    echo "${l#"$ROOT"/} -> $t (not carried)" >> "$WORK/dropped_links.txt"; rm -f "$l"
  fi
done < <(find "$ROOT" -type l -print0)

# RUNPATH: every ELF file finds its libraries in the prefix's library folder, relative to itself. The loader (and
# ld) take $ORIGIN from the path an object was opened by, not its resolved one: a library reached through a link in
# another folder (lib/libpmix.so.2 -> pmix2/lib/libpmix.so.2.6.2, openmpi/lib/libmpi.so -> ../../libmpi.so.40)
# gets one entry for each folder it is reached from.
scan_elves
declare -A DIRS=()
for f in "${!NEEDS[@]}"; do DIRS[$f]=$(dirname "$f"); done
while IFS= read -r -d '' l; do
  t=$(readlink -f "$l") || continue
  [ -n "${DIRS[$t]+x}" ] && DIRS[$t]+=$'\n'$(dirname "$l")
done < <(find "$ROOT" -type l -print0)
n_patched=0
for f in "${!NEEDS[@]}"; do
  [ -n "${NEEDS[$f]}" ] || continue
  rp=""
  while IFS= read -r d; do
    rel=$(realpath -s --relative-to="$d" "$LIBDIR")
    # shellcheck disable=SC2016  # $ORIGIN is for the loader
    if [ "$rel" = . ]; then e='$ORIGIN'; else e="\$ORIGIN/$rel"; fi
    [[ :$rp: == *:"$e":* ]] || rp=${rp:+$rp:}$e
  done < <(printf '%s\n' "${DIRS[$f]}" | sort -u)
  chmod u+w "$f"
  "$PATCHELF" --set-rpath "$rp" "$f" || die "patchelf failed on $f"
  n_patched=$((n_patched + 1))
done
say "RUNPATH set on $n_patched ELF files"

# .pc files: regular files, prefixes relative to ${pcfiledir}; cairo.pc without its Requires.private
while IFS= read -r -d '' pc; do
  if [ -L "$pc" ]; then cp --remove-destination "$(readlink -f "$pc")" "$pc"; fi
  rel=$(realpath -s --relative-to="$(dirname "$pc")" "$ROOT")
  sed -i -E "s#(^|[=[:space:]]|-I|-L)/usr(/|\$|[[:space:]])#\1\${pcfiledir}/$rel/usr\2#g" "$pc"
done < <(find "$ROOT" -name '*.pc' -print0)
sed -i -E '/^Requires\.private:/d; /^Libs\.private:/d' "$LIBDIR/pkgconfig/cairo.pc"

# Open MPI's configuration file (Debian's: no warnings for unused components; ucx/ofi/openib off)
[ -f "$ROOT/etc/openmpi/openmpi-mca-params.conf" ] || die "no etc/openmpi/openmpi-mca-params.conf"

# --- env.sh ------------------------------------------------------------------------------------------------------------
cat > "$ROOT/env.sh" <<'ENV'
# Sourced (bash) on the GPU machine, from anywhere: puts the Debian 12 build dependencies of this folder (made by
# bench/gpu_deps.sh) in front of the machine's own for CMake, pkg-config and Open MPI. No LD_LIBRARY_PATH: every
# ELF file here carries a RUNPATH into usr/lib/x86_64-linux-gnu, and Lockstep's binaries get a DT_RPATH to it from
# CMake (the folder of the libraries they link), so nothing else on the machine loads these libraries by accident.
GPU_DEPS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GPU_DEPS_ROOT
export GPU_DEPS_PREFIX=$GPU_DEPS_ROOT/usr
export GPU_DEPS_LIBDIR=$GPU_DEPS_PREFIX/lib/x86_64-linux-gnu
export PATH=$GPU_DEPS_PREFIX/bin:$PATH
export PKG_CONFIG_PATH=$GPU_DEPS_LIBDIR/pkgconfig:$GPU_DEPS_PREFIX/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export CMAKE_PREFIX_PATH=$GPU_DEPS_PREFIX${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
# Open MPI 4.1 was configured for /usr: OPAL_PREFIX relocates its libdir, plug-in folder (pkglibdir), help files
# and mpicc's wrapper data (pkgdatadir), and the bindir where a singleton finds orted; sysconfdir is absolute in
# the build, hence OPAL_SYSCONFDIR
export OPAL_PREFIX=$GPU_DEPS_PREFIX
export OPAL_SYSCONFDIR=$GPU_DEPS_ROOT/etc/openmpi
# PMIx 4.2 (Open MPI's runtime) was configured for /usr/lib/x86_64-linux-gnu/pmix2
export PMIX_PREFIX=$GPU_DEPS_LIBDIR/pmix2
export PMIX_EXEC_PREFIX=$PMIX_PREFIX PMIX_LIBDIR=$PMIX_PREFIX/lib PMIX_PKGLIBDIR=$PMIX_PREFIX/lib/pmix
export PMIX_DATADIR=$PMIX_PREFIX/share PMIX_PKGDATADIR=$PMIX_PREFIX/share/pmix PMIX_SYSCONFDIR=$PMIX_PREFIX/etc
# containers often forbid process_vm_readv (CMA) between processes: Open MPI's shared-memory transport then copies
# through its own buffers instead of failing (Lockstep's gradients go through its own shared memory anyway)
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# without ssh or rsh, Open MPI 4.1's launcher refuses to start even a one-machine job (mpirun, and the orted a
# singleton forks): "plm_rsh_agent: ssh : rsh ... could not be found". Any existing program will do for local ranks.
if [ ! -x "$(command -v ssh)" ] && [ ! -x "$(command -v rsh)" ]; then export OMPI_MCA_plm_rsh_agent=false; fi
ENV
{
  # shellcheck disable=SC1091
  echo "# packages of .gpu_deps (bench/gpu_deps.sh, $(date -u +%Y-%m-%d), from $(. /etc/os-release && echo "$PRETTY_NAME"))"
  for p in $(printf '%s\n' "${!HAVE_PKG[@]}" | sort); do echo "$p ${HAVE_PKG[$p]}"; done
  echo "# closure: soname -> package"; [ -f "$WORK/closure.txt" ] && sort -u "$WORK/closure.txt"
  echo "# pruned ELF files (need an excluded library)"; [ -f "$WORK/pruned.txt" ] && sort -u "$WORK/pruned.txt"
  echo "# dropped links (targets not carried)"; [ -f "$WORK/dropped_links.txt" ] && sort -u "$WORK/dropped_links.txt"
} > "$ROOT/MANIFEST"

# .gitignore: the folder is built here and carried, never committed
grep -qx '/.gpu_deps/' .gitignore || echo '/.gpu_deps/' >> .gitignore

SIZE=$(size_mib "$ROOT")
say "packages: $(printf '%s\n' "${!HAVE_PKG[@]}" | sort | tr '\n' ' ')"
say "closure: $(sort -u "$WORK/closure.txt" 2>/dev/null | tr '\n' ';')"
say "$ROOT: ${SIZE} MiB ($(find "$ROOT" -type f | wc -l) files; limit ${LIMIT_MIB} MiB); largest:"
find "$ROOT" -type f -printf '%s %P\n' | sort -rn | awk 'NR <= 8 {printf "gpu_deps:   %6.2f MiB  %s\n", $1 / 1048576, $2}'
awk -v s="$SIZE" -v l="$LIMIT_MIB" 'BEGIN { exit !(s > l) }' && die "${SIZE} MiB is over ${LIMIT_MIB} MiB"
# what the GPU machine's glibc and libstdc++ must provide (Ubuntu 24.04: GLIBC_2.39, GLIBCXX_3.4.33)
NEEDS_VERSIONS=$(for f in "${!NEEDS[@]}"; do objdump -T "$f" 2>/dev/null | grep -oE '(GLIBC|GLIBCXX|CXXABI)_[0-9.]+'; done |
  sort -u -V | awk -F_ '{v[$1] = $0} END {for (k in v) printf "%s ", v[k]}')
say "the prefix's programs and libraries need at most: $NEEDS_VERSIONS"
echo "# needs at most: $NEEDS_VERSIONS" >> "$ROOT/MANIFEST"
if [ "${GPU_DEPS_VERIFY:-1}" != 0 ]; then verify; fi
say "done: carry .gpu_deps with the device tool (carry: [\".gpu_deps\"]) and source .gpu_deps/env.sh there"
