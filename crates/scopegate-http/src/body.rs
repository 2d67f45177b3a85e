//! A response body read into memory, up to a cap: a peer that sends more (or announces more)
//! costs at most the cap plus one frame, never unbounded memory.

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

/// Why [`read_capped`] returned no body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The body is (or announced itself as) larger than the cap.
    #[error("the body is larger than {max} bytes")]
    TooLarge {
        /// The cap.
        max: usize,
    },
    /// Reading failed (the connection broke, a timeout of the client's).
    #[error("reading the body failed")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Reads `body` whole if it holds at most `max` bytes.
///
/// A `Content-Length` over the cap is refused before any byte is read. With `reqwest`, pass
/// `http::Response::from(response).into_body()`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use http_body_util::Full;
/// use scopegate_http::{ReadError, read_capped};
///
/// let body = read_capped(Full::new(bytes::Bytes::from_static(b"{}")), 16).await.unwrap();
/// assert_eq!(&body[..], b"{}");
/// let large = Full::new(bytes::Bytes::from(vec![b'x'; 17]));
/// assert!(matches!(read_capped(large, 16).await, Err(ReadError::TooLarge { max: 16 })));
/// # }
/// ```
pub async fn read_capped<B>(body: B, max: usize) -> Result<Bytes, ReadError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if body.size_hint().lower() > max as u64 {
        return Err(ReadError::TooLarge { max });
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(ReadError::TooLarge { max }),
        Err(error) => Err(ReadError::Body(error)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Frame, SizeHint};

    use super::*;

    /// A body that arrives in frames, possibly failing midway, and may announce a length.
    struct Frames {
        frames: VecDeque<Result<&'static [u8], std::io::Error>>,
        announced: Option<u64>,
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            let next = self.frames.pop_front();
            Poll::Ready(next.map(|frame| frame.map(|b| Frame::data(Bytes::from_static(b)))))
        }

        fn size_hint(&self) -> SizeHint {
            self.announced
                .map_or_else(SizeHint::new, SizeHint::with_exact)
        }
    }

    fn frames(parts: Vec<Result<&'static [u8], std::io::Error>>, announced: Option<u64>) -> Frames {
        Frames {
            frames: parts.into(),
            announced,
        }
    }

    #[tokio::test]
    async fn frames_are_joined_up_to_the_cap() {
        let body = frames(vec![Ok(b"abc"), Ok(b"def")], None);
        assert_eq!(&read_capped(body, 6).await.unwrap()[..], b"abcdef");
    }

    #[tokio::test]
    async fn one_byte_over_the_cap_is_too_large() {
        let body = frames(vec![Ok(b"abc"), Ok(b"defg")], None);
        assert!(matches!(
            read_capped(body, 6).await,
            Err(ReadError::TooLarge { max: 6 })
        ));
    }

    #[tokio::test]
    async fn an_announced_length_over_the_cap_is_refused_before_reading() {
        // The frame would fail if it were read: the refusal comes from the length alone.
        let broken = std::io::Error::other("must not be read");
        let body = frames(vec![Err(broken)], Some(7));
        assert!(matches!(
            read_capped(body, 6).await,
            Err(ReadError::TooLarge { max: 6 })
        ));
    }

    #[tokio::test]
    async fn a_broken_body_says_why() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let body = frames(vec![Ok(b"abc"), Err(reset)], None);
        match read_capped(body, 6).await {
            Err(ReadError::Body(error)) => assert_eq!(error.to_string(), "reset by peer"),
            other => panic!("expected a body error, got {other:?}"),
        }
    }
}
