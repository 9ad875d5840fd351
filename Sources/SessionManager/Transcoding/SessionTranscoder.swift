/// Turns a whole session (header fields and attributes) into bytes and back.
///
/// Decoding must be total: any input, however hostile, yields a snapshot or a thrown error, in
/// memory and time bounded by the input's length, and never an allocation sized by a length read
/// from the input. Every format starts with a fixed header (``recognizes(_:)``), so a blob written
/// by another transcoder — after a cluster switched `transcoderFactoryClass` — is recognised as
/// foreign instead of being misread.
///
/// Register your own with ``SessionTranscoders/register(_:)`` before the server starts and select
/// it by its ``name`` in `transcoderFactoryClass`.
public protocol SessionTranscoder: Sendable {
    /// The name `transcoderFactoryClass` selects it by.
    var name: String { get }
    /// Encodes a session. Equal snapshots must give equal bytes: a write is skipped when nothing changed.
    func encode(_ snapshot: SessionSnapshot) throws -> [UInt8]
    /// Decodes a session written by ``encode(_:)``; throws ``TranscoderError`` for anything else.
    func decode(_ bytes: [UInt8]) throws -> SessionSnapshot
    /// Whether `bytes` start with this format's header (a cheap check of the first bytes, not a
    /// validation): used to say which transcoder wrote a blob that the configured one cannot read.
    func recognizes(_ bytes: [UInt8]) -> Bool
}

/// Why a blob could not be decoded (or a session encoded).
public struct TranscoderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for logs.
    public let message: String
    /// Byte offset in the input where decoding stopped (`nil` for encoding errors).
    public let offset: Int?

    /// Creates an error.
    public init(_ message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    public var description: String {
        offset.map { "\(message) at byte \($0)" } ?? message
    }
}
