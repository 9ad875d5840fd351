import Foundation

/// Decodes a `Decodable` value from a ``SessionValue`` tree written by ``SessionValueEncoder``
/// (see ``Session/get(_:decoding:)``). A shape mismatch is a `DecodingError` naming the path.
public struct SessionValueDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes a `T` from `value`.
    public func decode<T: Decodable>(_ type: T.Type, from value: SessionValue) throws -> T {
        try ValueDecoder(value: value, codingPath: []).decodeValue(type)
    }
}

struct ValueDecoder: Decoder {
    let value: SessionValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch<T>(_ type: T.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(value)"))
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if type == SessionValue.self, let value = value as? T { return value }
        if type == Date.self {
            guard case .date(let date) = value, let result = date as? T else { throw mismatch(type) }
            return result
        }
        if type == Data.self {
            guard case .bytes(let bytes) = value, let result = Data(bytes) as? T else { throw mismatch(type) }
            return result
        }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let map) = value else { throw mismatch([String: SessionValue].self) }
        return KeyedDecodingContainer(KeyedContainer<Key>(map: map, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let array) = value else { throw mismatch([SessionValue].self) }
        return UnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(decoder: self)
    }

    /// A scalar of type `T`, converting integers exactly.
    func scalar<T: Decodable>(_ type: T.Type) throws -> T {
        switch value {
        case .bool(let v as T), .string(let v as T), .double(let v as T), .int(let v as T):
            return v
        case .int(let v):
            if let result = Self.exactInteger(v, as: type) { return result }
            if type == Double.self, let result = Double(v) as? T { return result }
            if type == Float.self, let result = Float(v) as? T { return result }
        case .double(let v):
            if type == Float.self, let result = Float(v) as? T { return result }
        default:
            break
        }
        // A primitive of another shape is a mismatch. Falling through to `T(from:)` would ask for a
        // single value again and recurse forever.
        if type is any BinaryInteger.Type || type is any BinaryFloatingPoint.Type || type == Bool.self || type == String.self {
            throw mismatch(type)
        }
        return try decodeValue(type)
    }

    private static func exactInteger<T>(_ value: Int, as type: T.Type) -> T? {
        switch type {
        case is Int8.Type: return Int8(exactly: value) as? T
        case is Int16.Type: return Int16(exactly: value) as? T
        case is Int32.Type: return Int32(exactly: value) as? T
        case is Int64.Type: return Int64(exactly: value) as? T
        case is UInt.Type: return UInt(exactly: value) as? T
        case is UInt8.Type: return UInt8(exactly: value) as? T
        case is UInt16.Type: return UInt16(exactly: value) as? T
        case is UInt32.Type: return UInt32(exactly: value) as? T
        case is UInt64.Type: return UInt64(exactly: value) as? T
        default: return nil
        }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let map: [String: SessionValue]
    let codingPath: [any CodingKey]
    var allKeys: [Key] { map.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { map[key.stringValue] != nil }

    private func value(_ key: Key) throws -> SessionValue {
        guard let value = map[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return value
    }

    private func decoder(_ key: Key) throws -> ValueDecoder {
        ValueDecoder(value: try value(key), codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder(key).scalar(type) }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try decoder(key).unkeyedContainer() }
    func superDecoder() throws -> any Decoder { ValueDecoder(value: map["super"] ?? .null, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try decoder(key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let array: [SessionValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    private struct IndexKey: CodingKey {
        var stringValue: String { "\(intValue ?? 0)" }
        var intValue: Int?
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { return nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    private mutating func next() throws -> ValueDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(SessionValue.self, .init(codingPath: codingPath, debugDescription: "array ended"))
        }
        defer { currentIndex += 1 }
        return ValueDecoder(value: array[currentIndex], codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, array[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().scalar(type) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let decoder: ValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { decoder.value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.scalar(type) }
}
