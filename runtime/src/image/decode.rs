//! JPEG/PNG decoding for the CLI, the C ABI's `moae_decode_image_file` and the trainer: one
//! decoder, so a file is the same pixels everywhere (spec §1).
//!
//! - **EXIF orientation** (tags 1–8, JPEG APP1 or PNG eXIf) is applied: a phone photo stored
//!   sideways with "rotate 90" in its EXIF comes out upright, as every viewer shows it.
//! - **Truncated files are errors.** The JPEG decoder fills a scan cut short with grey and
//!   reports success, so a JPEG must carry its end-of-image marker (FF D9) after its last scan
//!   (FF DA; inside scan data a 0xFF byte is always followed by 0x00 or a restart marker, so
//!   neither marker can occur by accident there). A PNG must reach its IEND chunk.

use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::path::{Path, PathBuf};

/// Where [`decode_image`] reads from: a path (`&str`, `&Path`, `PathBuf`) or encoded bytes.
pub enum ImageSource<'a> {
    Path(PathBuf),
    Bytes(&'a [u8]),
}

impl From<&Path> for ImageSource<'_> {
    fn from(p: &Path) -> Self {
        ImageSource::Path(p.to_path_buf())
    }
}
impl From<&PathBuf> for ImageSource<'_> {
    fn from(p: &PathBuf) -> Self {
        ImageSource::Path(p.clone())
    }
}
impl From<PathBuf> for ImageSource<'_> {
    fn from(p: PathBuf) -> Self {
        ImageSource::Path(p)
    }
}
impl From<&str> for ImageSource<'_> {
    fn from(p: &str) -> Self {
        ImageSource::Path(PathBuf::from(p))
    }
}
impl<'a> From<&'a [u8]> for ImageSource<'a> {
    fn from(b: &'a [u8]) -> Self {
        ImageSource::Bytes(b)
    }
}
impl<'a> From<&'a Vec<u8>> for ImageSource<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        ImageSource::Bytes(b)
    }
}

/// Decodes a JPEG or PNG into upright (EXIF orientation applied) packed RGB8:
/// `(pixels, width, height)`, stride `3 * width`. A truncated or corrupt file is
/// [`Error::Image`]; an unreadable path is [`Error::Io`].
pub fn decode_image<'a>(src: impl Into<ImageSource<'a>>) -> Result<(Vec<u8>, u32, u32)> {
    let (img, what) = match src.into() {
        ImageSource::Path(p) => {
            let bytes = read_bounded(&p)?;
            (decode(&bytes), format!("`{}`", p.display()))
        }
        ImageSource::Bytes(b) => (decode(b), format!("{} bytes in memory", b.len())),
    };
    let img = img.map_err(|e| Error::Image(format!("{what}: {e} (JPEG and PNG are supported)")))?;
    let rgb = img.into_rgb8();
    let (w, h) = rgb.dimensions();
    Ok((rgb.into_raw(), w, h))
}

/// The largest image file read (256 MiB): far above any camera JPEG/PNG, and a bound on what a
/// wrong path (a device, a pipe, a video) can make the process allocate.
pub const MAX_IMAGE_FILE_BYTES: u64 = 256 << 20;

/// Reads at most [`MAX_IMAGE_FILE_BYTES`] + 1 bytes, so that pipes and devices are bounded too.
fn read_bounded(p: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: p.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(p)
        .map_err(io)?
        .take(MAX_IMAGE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_IMAGE_FILE_BYTES {
        return Err(Error::Image(format!(
            "`{}` is larger than {} MiB: not a camera image (JPEG and PNG are supported)",
            p.display(),
            MAX_IMAGE_FILE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

fn decode(bytes: &[u8]) -> std::result::Result<DynamicImage, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    match reader.format() {
        Some(ImageFormat::Jpeg) => jpeg_is_complete(bytes)?,
        Some(ImageFormat::Png) => png_is_complete(bytes)?,
        _ => {}
    }
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    // As `ImageReader::decode` does: the decoded buffer counts against the default limits
    // (512 MiB). Going through the decoder (for its EXIF orientation) must keep that check, or a
    // tiny "image bomb" whose header claims 100000x100000 makes the allocator abort the process.
    let mut limits = image::Limits::default();
    limits
        .reserve(decoder.total_bytes())
        .and_then(|()| decoder.set_limits(limits))
        .map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    Ok(img)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// An end-of-image marker after the last start-of-scan (see the module docs).
fn jpeg_is_complete(bytes: &[u8]) -> std::result::Result<(), String> {
    let Some(sos) = find_last(bytes, &[0xFF, 0xDA]) else {
        return Ok(()); // no scan at all: the decoder itself names what is missing
    };
    match find_last(&bytes[sos..], &[0xFF, 0xD9]) {
        Some(_) => Ok(()),
        None => Err(format!(
            "the JPEG ends inside its image data, without its end-of-image marker (FF D9) \
             after {} bytes: the file is truncated",
            bytes.len()
        )),
    }
}

/// The IEND chunk (type `IEND`, empty, fixed CRC) is present.
fn png_is_complete(bytes: &[u8]) -> std::result::Result<(), String> {
    const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    match find_last(bytes, &IEND) {
        Some(_) => Ok(()),
        None => Err(format!(
            "the PNG ends after {} bytes without its IEND chunk: the file is truncated",
            bytes.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        })
    }

    fn encoded(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn jpeg(img: &RgbImage) -> Vec<u8> {
        encoded(img, ImageFormat::Jpeg)
    }

    fn png(img: &RgbImage) -> Vec<u8> {
        encoded(img, ImageFormat::Png)
    }

    #[test]
    fn whole_files_decode() {
        let img = gradient(40, 30);
        for bytes in [jpeg(&img), png(&img)] {
            let (_, w, h) = decode_image(&bytes).unwrap();
            assert_eq!((w, h), (40, 30));
        }
        assert_eq!(decode_image(&png(&img)).unwrap().0, img.into_raw());
    }

    /// Every cut point from the first scan byte to the last byte must be rejected, and so must
    /// a sample of earlier ones (headers).
    #[test]
    fn truncated_jpeg_and_png_are_errors() {
        let img = gradient(64, 48);
        for (name, bytes) in [("jpeg", jpeg(&img)), ("png", png(&img))] {
            let n = bytes.len();
            let mut cuts: Vec<usize> = vec![2, 20, n / 4, n / 2, 3 * n / 4, n - 12, n - 2, n - 1];
            if name == "jpeg" {
                let sos = find_last(&bytes, &[0xFF, 0xDA]).unwrap();
                cuts.extend([sos + 2, sos + 20, (sos + n) / 2]);
            }
            for cut in cuts {
                match decode_image(&bytes[..cut]) {
                    Err(Error::Image(msg)) => assert!(msg.contains("bytes in memory"), "{msg}"),
                    other => panic!(
                        "{name} cut at {cut} of {n}: {:?}",
                        other.map(|r| (r.1, r.2))
                    ),
                }
            }
        }
    }

    #[test]
    fn trailing_bytes_after_the_end_are_tolerated() {
        let mut bytes = jpeg(&gradient(16, 16));
        bytes.extend_from_slice(&[0; 7]);
        assert!(decode_image(&bytes).is_ok());
    }

    #[test]
    fn endless_files_are_bounded_errors() {
        // A character device never ends: the read stops at the bound and names the file.
        match decode_image(Path::new("/dev/zero")) {
            Err(Error::Image(m)) => assert!(m.contains("/dev/zero") && m.contains("MiB"), "{m}"),
            other => panic!("expected an image error, got {other:?}"),
        }
    }

    #[test]
    fn unreadable_paths_are_io_errors() {
        let err = decode_image("/nonexistent/x.jpg").unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
