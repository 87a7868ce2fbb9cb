package fastfloat

// Local to tokensmith's fork: upstream builds its error texts with
// fmt.Errorf, which links fmt (and reflect) into every WASM build, about
// 190 KB gzipped. errorf understands just the verbs upstream uses.

import (
	"errors"
	"strconv"
)

func errorf(format string, args ...any) error {
	var b []byte
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		verb := format[i]
		if verb == '0' && i+2 < len(format) { // %02X
			i += 2
			verb = format[i]
		}
		if len(args) == 0 {
			b = append(b, '%', verb)
			continue
		}
		a := args[0]
		args = args[1:]
		switch verb {
		case 'q':
			b = strconv.AppendQuote(b, str(a))
		case 'X':
			if n, ok := a.(byte); ok {
				b = append(b, "0123456789ABCDEF"[n>>4], "0123456789ABCDEF"[n&15])
			}
		default:
			b = append(b, str(a)...)
		}
	}
	return errors.New(string(b))
}

func str(a any) string {
	switch v := a.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case error:
		return v.Error()
	case interface{ String() string }:
		return v.String()
	case int:
		return strconv.Itoa(v)
	case byte:
		return strconv.Itoa(int(v))
	}
	return "?"
}
