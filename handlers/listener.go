package handlers

import (
	"io"
	"net"
	"time"
)

// DrainingListener wraps a listener so that when the server closes a connection it first stops
// writing, then reads and discards what the client is still sending (up to 8 MiB or 2 s) before the
// real close. Without this, closing a socket with unread input (a 5 MB upload refused with 413)
// resets it, and the client sees "connection reset" instead of the 413 (RFC 9112 §9.6).
func DrainingListener(l net.Listener) net.Listener { return drainingListener{l} }

type drainingListener struct{ net.Listener }

func (l drainingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		return drainingConn{tcp}, nil
	}
	return c, nil
}

type drainingConn struct{ *net.TCPConn }

func (c drainingConn) Close() error {
	if err := c.CloseWrite(); err != nil {
		return c.TCPConn.Close()
	}
	go func() {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, io.LimitReader(c.TCPConn, 8<<20))
		c.TCPConn.Close()
	}()
	return nil
}
