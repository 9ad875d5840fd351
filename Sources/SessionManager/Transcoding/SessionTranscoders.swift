/// The transcoders `transcoderFactoryClass` can name: a value, not global state, so two servers in
/// one process (or two tests) can have different sets.
///
/// ```swift
/// var transcoders = SessionTranscoders.standard
/// try transcoders.register(MyTranscoder())            // name "mine"
/// let loader = ServerXMLLoader(knownApps: ["shop"], transcoders: transcoders)
/// ```
public struct SessionTranscoders: Sendable {
    private var byName: [String: any SessionTranscoder]

    /// The name used when `transcoderFactoryClass` is absent.
    public static let defaultName = "binary"

    /// `binary` (the default), `json` and `plist`.
    public static var standard: SessionTranscoders {
        var set = SessionTranscoders(byName: [:])
        for transcoder: any SessionTranscoder in [BinarySessionTranscoder(), JSONSessionTranscoder(), PropertyListSessionTranscoder()] {
            set.byName[transcoder.name] = transcoder
        }
        return set
    }

    private init(byName: [String: any SessionTranscoder]) { self.byName = byName }

    /// The registered names, sorted.
    public var names: [String] { byName.keys.sorted() }

    /// The transcoder registered under `name`, if any.
    public subscript(name: String) -> (any SessionTranscoder)? { byName[name] }

    /// Adds a transcoder under its ``SessionTranscoder/name``; a name may be registered once.
    public mutating func register(_ transcoder: any SessionTranscoder) throws {
        let name = transcoder.name
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw SessionManagerError(.invalidConfiguration, "a transcoder name must be printable ASCII without spaces, got '\(name)'")
        }
        guard byName[name] == nil else {
            throw SessionManagerError(.invalidConfiguration, "a transcoder named '\(name)' is already registered")
        }
        byName[name] = transcoder
    }

    /// The name of the registered transcoder whose header `bytes` carry, if any.
    public func identify(_ bytes: [UInt8]) -> String? {
        names.first { byName[$0]?.recognizes(bytes) == true }
    }
}
