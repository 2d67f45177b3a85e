//! What every middleware service of the scopegate crates offers about the service it wraps.

/// Writes `get_ref`, `get_mut` and `into_inner` for a middleware service whose wrapped service
/// is the field `inner` of type `S`, inside that service's `impl` block.
///
/// tower-http's and axum's services all offer these three; scopegate's and scopegate-m2m's
/// offer them alike from this one definition.
///
/// ```
/// struct Logged<S> {
///     inner: S,
/// }
///
/// impl<S> Logged<S> {
///     scopegate_http::inner_service_accessors!();
/// }
///
/// let mut logged = Logged { inner: 7 };
/// *logged.get_mut() += 1;
/// assert_eq!(*logged.get_ref(), 8);
/// assert_eq!(logged.into_inner(), 8);
/// ```
#[macro_export]
macro_rules! inner_service_accessors {
    () => {
        /// The wrapped service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The wrapped service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// The wrapped service, unwrapped.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
