/// Strict UTF-8 decoding shared by the transcoders' readers.
///
/// Most stored text (attribute names, ids, typical values) is ASCII, which is valid UTF-8 as is:
/// `String(decoding:)` over it is specialised and several times faster than the generic
/// `String(validating:)`, which the readers need only for the rest.
enum UTF8Text {
    /// `true` when every byte is below 0x80.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 < 0x80 }
    }

    /// The text of `bytes`; `nil` when they are not valid UTF-8 (never repaired).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if isASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }
}
