//! A batch as tensors: the one place data meets libtorch (the rest of `data` is plain buffers).

use crate::data::loader::Batch;
use anyhow::{bail, Result};
use tch::{Device, Tensor};

/// The pixels and labels of a batch as tensors on `device`.
pub fn batch_tensors(b: &Batch, image_size: i64, device: Device) -> Result<(Tensor, Tensor)> {
    let n = b.labels.len() as i64;
    let want = (n * 3 * image_size * image_size) as usize;
    if b.pixels.len() != want {
        bail!(
            "batch has {} pixel values, expected {} for {n} images of 3×{image_size}×{image_size}",
            b.pixels.len(),
            want
        );
    }
    let x = Tensor::from_slice(&b.pixels)
        .view([n, 3, image_size, image_size])
        .to_device(device);
    let y = Tensor::from_slice(&b.labels).to_device(device);
    Ok((x, y))
}
