// Bake libtorch's directory into our binaries' rpath, so `trainer` and the test executables
// run without LD_LIBRARY_PATH (tch's own build script does this only for tch's targets).
// torch-sys (links = "tch") exports the directory it linked as DEP_TCH_LIBTORCH_LIB.
// `--no-as-needed -ltorch` keeps libtorch (and with it the CUDA backend when the wheel has
// one) loaded even though our code calls it only through torch-sys.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
