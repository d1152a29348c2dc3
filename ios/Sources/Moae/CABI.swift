import CMoae

// Every C function of moae.h this wrapper calls, with the exact Swift type it is called with.
// On a Mac the compiler checks each assignment against the imported header; on machines
// without Swift, android/jni/tests/swift_header_check.rs parses this file and include/moae.h
// and fails on any drift (missing function, arity, argument or return type). Call C through
// these names only (the check also rejects direct moae_* calls elsewhere that are not here).
//
// `nonisolated(unsafe)`: Swift 6 rejects a stored static of a non-Sendable type (a plain
// function type); these are immutable references to C functions, safe from any thread.
enum CABI {
    // The sized initialisers, always passed MemoryLayout<struct>.size (the checker enforces
    // both): the library fills min(size, its own) bytes and sets struct_size to that. The
    // legacy moae_options_init / moae_image_init write only the ABI-v1 prefix (80 / 96 bytes);
    // C reaches the sized ones through macros of the same names, which Swift does not import.
    nonisolated(unsafe) static let optionsInitSized: (
        UnsafeMutablePointer<moae_options>?, Int
    ) -> Void = moae_options_init_sized
    nonisolated(unsafe) static let imageInitSized: (UnsafeMutablePointer<moae_image>?, Int) -> Void =
        moae_image_init_sized
    nonisolated(unsafe) static let createFromFile: (
        UnsafePointer<CChar>?, UnsafePointer<moae_options>?,
        UnsafeMutablePointer<OpaquePointer?>?
    ) -> moae_status = moae_engine_create_from_file
    nonisolated(unsafe) static let createFromMemory: (
        UnsafePointer<UInt8>?, Int, UnsafePointer<moae_options>?,
        UnsafeMutablePointer<OpaquePointer?>?
    ) -> moae_status = moae_engine_create_from_memory
    nonisolated(unsafe) static let destroy: (OpaquePointer?) -> Void = moae_engine_destroy
    nonisolated(unsafe) static let getInfo: (
        OpaquePointer?, UnsafeMutablePointer<moae_engine_info>?
    ) -> moae_status = moae_engine_get_info
    // moae_detect_sized, always passed MemoryLayout<moae_result>.stride (the checker enforces
    // it): the legacy moae_detect symbol writes only 24-byte version-1 results, without the
    // attack type; C reaches the sized one through a macro of the same name.
    nonisolated(unsafe) static let detect: (
        OpaquePointer?, UnsafePointer<moae_image>?, UnsafePointer<moae_box>?, Int,
        UnsafeMutablePointer<moae_result>?, Int, Int, UnsafeMutablePointer<Int>?
    ) -> moae_status = moae_detect_sized
    nonisolated(unsafe) static let analyze: (
        OpaquePointer?, UnsafePointer<moae_image>?, UnsafePointer<moae_box_input>?, Int,
        UnsafeMutablePointer<moae_face>?, Int, Int, UnsafeMutablePointer<Int>?,
        UnsafeMutablePointer<UInt32>?
    ) -> moae_status = moae_analyze
    nonisolated(unsafe) static let statusMessage: (Int32) -> UnsafePointer<CChar>? =
        moae_status_message
    nonisolated(unsafe) static let lastError: () -> UnsafePointer<CChar>? = moae_last_error
    nonisolated(unsafe) static let versionString: () -> UnsafePointer<CChar>? =
        moae_version_string
    nonisolated(unsafe) static let version: () -> UInt32 = moae_version
}

// The struct fields this wrapper reads or writes (checked against moae.h the same way).
enum CABIFields {
    nonisolated(unsafe) static let options: [PartialKeyPath<moae_options>] = [
        \.struct_size, \.abi_version, \.providers, \.provider_count, \.require_provider,
        \.intra_op_threads, \.max_sessions, \.ort_library_path, \.model_sha256,
        \.coreml_compute_units, \.threshold, \.crop_scale, \.face_detector_path,
        \.face_detector_data, \.face_detector_len, \.detector_min_score, \.whole_frame,
        \.quality,
    ]
    nonisolated(unsafe) static let qualityOptions: [PartialKeyPath<moae_quality_options>] = [
        \.min_face_px, \.max_outside_fraction, \.min_brightness, \.max_brightness,
        \.max_overexposed_fraction, \.min_sharpness, \.max_roll_deg, \.max_yaw_deg,
        \.allow_several_faces,
    ]
    nonisolated(unsafe) static let image: [PartialKeyPath<moae_image>] = [
        \.struct_size, \.format, \.width, \.height, \.planes, \.plane_sizes, \.strides,
        \.rotation, \.mirrored, \.yuv_range, \.yuv_matrix,
    ]
    nonisolated(unsafe) static let box: [PartialKeyPath<moae_box>] = [
        \.x, \.y, \.width, \.height,
    ]
    nonisolated(unsafe) static let boxInput: [PartialKeyPath<moae_box_input>] = [
        \.rect, \.space, \.units,
    ]
    nonisolated(unsafe) static let result: [PartialKeyPath<moae_result>] = [
        \.attack_score, \.live_score, \.is_attack, \.threshold, \.provider, \.latency_ms,
        \.has_attack_type, \.attack_type_probs,
    ]
    nonisolated(unsafe) static let face: [PartialKeyPath<moae_face>] = [
        \.box, \.keypoints, \.has_keypoints, \.source, \.detector_score, \.attack_score,
        \.live_score, \.threshold, \.decision, \.quality_flags, \.quality, \.latency_ms,
        \.has_attack_type, \.attack_type_probs,
    ]
    nonisolated(unsafe) static let quality: [PartialKeyPath<moae_quality>] = [
        \.face_px, \.outside_fraction, \.brightness, \.overexposed_fraction, \.sharpness,
        \.roll_deg, \.yaw_deg,
    ]
    nonisolated(unsafe) static let info: [PartialKeyPath<moae_engine_info>] = [
        \.struct_size, \.provider, \.input_size, \.threshold, \.threshold_calibrated,
        \.model_sha256, \.precision, \.ort_version, \.ort_library_path, \.fallback_reason,
    ]
}
