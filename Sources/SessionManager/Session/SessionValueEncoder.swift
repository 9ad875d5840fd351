import Foundation

/// Encodes any `Encodable` value as a ``SessionValue`` tree, so that app types can be stored in a
/// session and read back by every transcoder (see ``Session/set(_:encoding:)``).
///
/// Mapping: integers → `.int` (a `UInt64` above `Int.max` is an error, never a silent wrap),
/// floating point → `.double`, `Bool`, `String`, `Date` → `.date`, `Data` → `.bytes`, keyed
/// containers → `.map`, unkeyed → `.array`, `nil` → `.null`.
public struct SessionValueEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// Encodes `value`.
    /// - Throws: `EncodingError` when a value has no representation (for example `UInt64.max`).
    public func encode<T: Encodable>(_ value: T) throws -> SessionValue {
        let node = EncodingNode()
        try ValueEncoder(node: node, codingPath: []).encodeTopLevel(value)
        return node.resolve()
    }
}

/// A value under construction: containers are filled in after they are handed out, so they
/// share this reference with their parent.
final class EncodingNode {
    enum Content {
        case empty
        case value(SessionValue)
        case array([EncodingNode])
        case map([String: EncodingNode])
    }
    var content: Content = .empty

    func resolve() -> SessionValue {
        switch content {
        case .empty: return .null
        case .value(let value): return value
        case .array(let nodes): return .array(nodes.map { $0.resolve() })
        case .map(let nodes): return .map(nodes.mapValues { $0.resolve() })
        }
    }

    var map: [String: EncodingNode] {
        get { if case .map(let map) = content { map } else { [:] } }
        set { content = .map(newValue) }
    }

    var array: [EncodingNode] {
        get { if case .array(let array) = content { array } else { [] } }
        set { content = .array(newValue) }
    }
}

struct ValueEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        if let special = try Self.special(value, codingPath: codingPath) {
            node.content = .value(special)
        } else {
            try value.encode(to: self)
        }
    }

    /// Types with a direct representation instead of their own `Codable` form.
    static func special<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> SessionValue? {
        switch value {
        case let value as SessionValue: return value
        case let date as Date: return .date(date)
        case let data as Data: return .bytes(Array(data))
        default: return nil
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .map = node.content {} else { node.content = .map([:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(node: node, codingPath: codingPath)
    }

    static func scalar<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> SessionValue? {
        switch value {
        case let v as Bool: return .bool(v)
        case let v as String: return .string(v)
        case let v as Double: return .double(v)
        case let v as Float: return .double(Double(v))
        case let v as Int: return .int(v)
        case let v as Int8: return .int(Int(v))
        case let v as Int16: return .int(Int(v))
        case let v as Int32: return .int(Int(v))
        case let v as Int64: return .int(Int(v))
        case let v as UInt8: return .int(Int(v))
        case let v as UInt16: return .int(Int(v))
        case let v as UInt32: return .int(Int(v))
        case let v as UInt: return try exact(v, codingPath)
        case let v as UInt64: return try exact(v, codingPath)
        default: return try special(value, codingPath: codingPath)
        }
    }

    private static func exact<I: BinaryInteger>(_ value: I, _ codingPath: [any CodingKey]) throws -> SessionValue {
        guard let int = Int(exactly: value) else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) does not fit in Int"))
        }
        return .int(int)
    }

    /// Encodes `value` into `node`, directly when it is a scalar.
    static func encode<T: Encodable>(_ value: T, into node: EncodingNode, codingPath: [any CodingKey]) throws {
        if let scalar = try scalar(value, codingPath: codingPath) {
            node.content = .value(scalar)
        } else {
            try value.encode(to: ValueEncoder(node: node, codingPath: codingPath))
        }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> EncodingNode {
        let child = EncodingNode()
        node.map[key.stringValue] = child
        return child
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try ValueEncoder.encode(value, into: child(key), codingPath: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let child = EncodingNode()
        node.map["super"] = child
        return ValueEncoder(node: child, codingPath: codingPath)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        ValueEncoder(node: child(key), codingPath: codingPath + [key])
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.array.count }

    private func next() -> EncodingNode {
        let child = EncodingNode()
        node.array.append(child)
        return child
    }

    mutating func encodeNil() throws { next().content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        try ValueEncoder.encode(value, into: next(), codingPath: path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(node: next(), codingPath: path).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(node: next(), codingPath: path).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(node: next(), codingPath: path)
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    mutating func encodeNil() throws { node.content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try ValueEncoder.encode(value, into: node, codingPath: codingPath)
    }
}
