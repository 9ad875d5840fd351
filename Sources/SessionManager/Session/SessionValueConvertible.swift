import Foundation

/// A Swift type that converts to and from a ``SessionValue`` without loss.
///
/// Conformances exist for the common scalar types, `Date`, `Data`, `[UInt8]`, arrays and
/// string-keyed dictionaries of convertible values, and optionals.
public protocol SessionValueConvertible: Sendable {
    /// Reads `Self` from a session value; `nil` when the value has another shape.
    init?(sessionValue: SessionValue)
    /// The session value that represents `self`.
    var sessionValue: SessionValue { get }
}

extension SessionValue: SessionValueConvertible {
    public init?(sessionValue: SessionValue) { self = sessionValue }
    public var sessionValue: SessionValue { self }
}

extension Int: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .int(let value) = sessionValue else { return nil }
        self = value
    }
    public var sessionValue: SessionValue { .int(self) }
}

extension Bool: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .bool(let value) = sessionValue else { return nil }
        self = value
    }
    public var sessionValue: SessionValue { .bool(self) }
}

extension Double: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        switch sessionValue {
        case .double(let value): self = value
        case .int(let value): self = Double(value)
        default: return nil
        }
    }
    public var sessionValue: SessionValue { .double(self) }
}

extension String: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .string(let value) = sessionValue else { return nil }
        self = value
    }
    public var sessionValue: SessionValue { .string(self) }
}

extension Date: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .date(let value) = sessionValue else { return nil }
        self = value
    }
    public var sessionValue: SessionValue { .date(self) }
}

extension Data: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .bytes(let value) = sessionValue else { return nil }
        self = Data(value)
    }
    public var sessionValue: SessionValue { .bytes(Array(self)) }
}

extension Array: SessionValueConvertible where Element: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        switch sessionValue {
        case .array(let values):
            var result: [Element] = []
            result.reserveCapacity(values.count)
            for value in values {
                guard let element = Element(sessionValue: value) else { return nil }
                result.append(element)
            }
            self = result
        case .bytes(let bytes) where Element.self == UInt8.self:
            // `[UInt8]` is stored as `.bytes`; this cast is a no-op at run time.
            guard let result = bytes as? [Element] else { return nil }
            self = result
        default:
            return nil
        }
    }
    public var sessionValue: SessionValue {
        if let bytes = self as? [UInt8] { return .bytes(bytes) }
        return .array(self.map(\.sessionValue))
    }
}

extension UInt8: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .int(let value) = sessionValue, let byte = UInt8(exactly: value) else { return nil }
        self = byte
    }
    public var sessionValue: SessionValue { .int(Int(self)) }
}

extension Dictionary: SessionValueConvertible where Key == String, Value: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        guard case .map(let values) = sessionValue else { return nil }
        var result: [String: Value] = [:]
        result.reserveCapacity(values.count)
        for (key, value) in values {
            guard let converted = Value(sessionValue: value) else { return nil }
            result[key] = converted
        }
        self = result
    }
    public var sessionValue: SessionValue { .map(self.mapValues(\.sessionValue)) }
}

extension Optional: SessionValueConvertible where Wrapped: SessionValueConvertible {
    public init?(sessionValue: SessionValue) {
        if case .null = sessionValue {
            self = .none
        } else if let wrapped = Wrapped(sessionValue: sessionValue) {
            self = .some(wrapped)
        } else {
            return nil
        }
    }
    public var sessionValue: SessionValue { self.map(\.sessionValue) ?? .null }
}
