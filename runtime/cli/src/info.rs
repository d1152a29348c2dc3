//! `moae info`: a model's metadata and how it would run.

use crate::args::InfoArgs;
use crate::engine::load;
use anyhow::Result;
use moae_runtime::Engine;
use serde_json::json;
use std::path::PathBuf;

/// Prints the model's metadata, provider and load time (text or JSON).
pub fn run(ort: &Option<PathBuf>, a: &InfoArgs) -> Result<()> {
    let InfoArgs {
        model,
        engine,
        json,
    } = a;
    let e = load(model, &engine.options(ort))?;
    if *json {
        println!("{}", serde_json::to_string_pretty(&info_json(&e))?);
    } else {
        let i = e.info();
        let m = &i.meta;
        println!("model        {}", model.display());
        println!("sha256       {}", i.model_sha256);
        println!("preset       {} / {}", m.preset, m.variant);
        println!("input        [N, 3, {0}, {0}]", i.input_size);
        println!("mean / std   {:?} / {:?}", m.mean, m.std);
        println!(
            "threshold    {} ({})",
            i.threshold,
            if i.threshold_calibrated {
                "calibrated"
            } else {
                "default"
            }
        );
        println!("precision    {}", m.precision);
        println!("producer     {}", m.producer);
        println!("provider     {}", i.provider);
        if let Some(r) = &i.fallback_reason {
            println!("fallback     {r}");
        }
        println!(
            "onnxruntime  {} ({})",
            i.ort_version,
            i.ort_library.display()
        );
        println!("load         {:.1} ms", i.load_time.as_secs_f64() * 1e3);
    }
    Ok(())
}

fn info_json(e: &Engine) -> serde_json::Value {
    let i = e.info();
    json!({
        "provider": i.provider.to_string(),
        "fallback_reason": i.fallback_reason,
        "input_size": i.input_size,
        "threshold": i.threshold,
        "threshold_calibrated": i.threshold_calibrated,
        "model_sha256": i.model_sha256,
        "meta": i.meta,
        "ort_library": i.ort_library,
        "ort_version": i.ort_version,
        "fixed_batch": i.fixed_batch,
        "load_ms": i.load_time.as_secs_f64() * 1e3,
    })
}
