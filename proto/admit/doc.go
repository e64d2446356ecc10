// Package admit bounds the bytes of requests in flight with a weighted
// semaphore, so a receiver's memory stays bounded whatever clients send.
package admit
