//! Links the system pocketsphinx (Debian's `libpocketsphinx-dev`, version 5prealpha).

fn main() {
    if let Err(err) = pkg_config::Config::new()
        .atleast_version("5prealpha")
        .probe("pocketsphinx")
    {
        // pkg-config compares "5prealpha" loosely; fall back to plain linking with a
        // clear hint rather than an opaque linker error.
        println!(
            "cargo:warning=pkg-config could not find pocketsphinx ({err}); install libpocketsphinx-dev"
        );
        println!("cargo:rustc-link-lib=pocketsphinx");
        println!("cargo:rustc-link-lib=sphinxbase");
    }
}
