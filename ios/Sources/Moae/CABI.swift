import CMoae

// Every C function of moae.h this wrapper calls, with the exact Swift type it is called with.
// On a Mac the compiler checks each assignment against the imported header; on machines
// without Swift, android/jni/tests/swift_header_check.rs parses this file and include/moae.h
// and fails on any drift (missing function, arity, argument or return type). Call C through
// these names only (the check also rejects direct moae_* calls elsewhere that are not here).
enum CABI {
    static let optionsInit: (UnsafeMutablePointer<moae_options>?) -> Void = moae_options_init
    static let createFromFile: (
        UnsafePointer<CChar>?, UnsafePointer<moae_options>?,
        UnsafeMutablePointer<OpaquePointer?>?
    ) -> moae_status = moae_engine_create_from_file
    static let createFromMemory: (
        UnsafePointer<UInt8>?, Int, UnsafePointer<moae_options>?,
        UnsafeMutablePointer<OpaquePointer?>?
    ) -> moae_status = moae_engine_create_from_memory
    static let destroy: (OpaquePointer?) -> Void = moae_engine_destroy
    static let getInfo: (OpaquePointer?, UnsafeMutablePointer<moae_engine_info>?) -> moae_status =
        moae_engine_get_info
    static let detect: (
        OpaquePointer?, UnsafePointer<moae_image>?, UnsafePointer<moae_box>?, Int,
        UnsafeMutablePointer<moae_result>?, Int, UnsafeMutablePointer<Int>?
    ) -> moae_status = moae_detect
    static let statusMessage: (Int32) -> UnsafePointer<CChar>? = moae_status_message
    static let lastError: () -> UnsafePointer<CChar>? = moae_last_error
    static let versionString: () -> UnsafePointer<CChar>? = moae_version_string
    static let version: () -> UInt32 = moae_version
}

// The struct fields this wrapper reads or writes (checked against moae.h the same way).
enum CABIFields {
    static let options: [PartialKeyPath<moae_options>] = [
        \.struct_size, \.abi_version, \.providers, \.provider_count, \.require_provider,
        \.intra_op_threads, \.max_sessions, \.ort_library_path, \.model_sha256,
        \.coreml_compute_units, \.threshold, \.crop_scale,
    ]
    static let image: [PartialKeyPath<moae_image>] = [
        \.struct_size, \.format, \.width, \.height, \.planes, \.plane_sizes, \.strides,
        \.rotation,
    ]
    static let box: [PartialKeyPath<moae_box>] = [\.x, \.y, \.width, \.height]
    static let result: [PartialKeyPath<moae_result>] = [
        \.attack_score, \.live_score, \.is_attack, \.threshold, \.provider, \.latency_ms,
    ]
    static let info: [PartialKeyPath<moae_engine_info>] = [
        \.struct_size, \.provider, \.input_size, \.threshold, \.threshold_calibrated,
        \.model_sha256, \.precision, \.ort_version, \.ort_library_path, \.fallback_reason,
    ]
}
