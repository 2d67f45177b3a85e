//! Compiles proto/shop/v1/products.proto with the protoc of `protoc-bin-vendored`, so that a
//! build needs nothing installed by hand.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().compile_with_config(
        config,
        &["proto/shop/v1/products.proto"],
        &["proto"],
    )?;
    Ok(())
}
