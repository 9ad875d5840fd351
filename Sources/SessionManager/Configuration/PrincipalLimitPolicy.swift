/// What a login does when the principal already has ``ManagerConfiguration/maxSessionsPerPrincipal``
/// sessions (ours, not msm's; XML `principalLimitPolicy`).
public enum PrincipalLimitPolicy: String, Sendable, CaseIterable {
    /// The principal's sessions with the oldest logins are invalidated, on every node (the default).
    case invalidateOldest
    /// The login is refused: ``Session/logIn(principal:)`` throws
    /// ``SessionManagerError/Code/tooManySessionsForPrincipal``, which the app can turn into a page.
    case reject
}
