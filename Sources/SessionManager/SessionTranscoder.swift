/// Turns a whole session (header fields and attributes) into bytes and back.
///
/// Decoding must be total: any input, however hostile, yields a snapshot or a thrown error, in
/// memory and time bounded by the input's length. A transcoder must also recognise blobs written by
/// other transcoders (by their first bytes) and reject them with an error rather than misread them.
public protocol SessionTranscoder: Sendable {
    /// The name `transcoderFactoryClass` selects it by.
    var name: String { get }
    /// Encodes a session.
    func encode(_ snapshot: SessionSnapshot) throws -> [UInt8]
    /// Decodes a session written by ``encode(_:)``.
    func decode(_ bytes: [UInt8]) throws -> SessionSnapshot
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
