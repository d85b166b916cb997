package mp4index

import (
	"bytes"
	"fmt"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// The codecs carried, and their RFC 6381 codecs values for HLS CODECS and
// DASH @codecs. Anything else (VP9 or AV1 in MP4, encrypted entries, MPEG-H)
// is ErrUnsupported: the players the packager serves may not decode it, and
// a wrong CODECS value would make them refuse the whole stream.

// videoCodec returns the codecs value of an AVC or HEVC sample entry.
func videoCodec(e *mp4.VisualSampleEntryBox) (string, error) {
	switch typ := e.Type(); typ {
	case "avc1", "avc3":
		if e.AvcC == nil {
			return "", fmt.Errorf("%w: %s without avcC", ErrBad, typ)
		}
		c := e.AvcC
		return fmt.Sprintf("%s.%02X%02X%02X", typ, c.AVCProfileIndication, c.ProfileCompatibility, c.AVCLevelIndication), nil
	case "hvc1", "hev1":
		if e.HvcC == nil {
			return "", fmt.Errorf("%w: %s without hvcC", ErrBad, typ)
		}
		sps := e.HvcC.GetNalusForType(hevc.NALU_SPS)
		if len(sps) == 0 {
			return "", fmt.Errorf("%w: %s without an SPS", ErrUnsupported, typ)
		}
		return hevcCodec(typ, sps[0])
	}
	return "", fmt.Errorf("%w: video codec %q is not carried", ErrUnsupported, e.Type())
}

// hevcCodec parses an HEVC SPS (turning a panic of the parser into ErrBad).
func hevcCodec(typ string, nalu []byte) (codec string, err error) {
	defer func() {
		if p := recover(); p != nil {
			codec, err = "", fmt.Errorf("%w: %s SPS: %v", ErrBad, typ, p)
		}
	}()
	sps, err := hevc.ParseSPSNALUnit(nalu)
	if err != nil {
		return "", fmt.Errorf("%w: %s SPS: %v", ErrBad, typ, err)
	}
	return hevc.CodecString(typ, sps), nil
}

// audioCodec returns the codecs value of an audio sample entry.
func audioCodec(e *mp4.AudioSampleEntryBox) (string, error) {
	switch typ := e.Type(); typ {
	case "mp4a":
		if e.Esds == nil || e.Esds.DecConfigDescriptor == nil {
			return "", fmt.Errorf("%w: mp4a without esds", ErrBad)
		}
		d := e.Esds.DecConfigDescriptor
		switch d.ObjectType {
		case 0x40: // MPEG-4 audio: the audio object type is in the config
			if d.DecSpecificInfo == nil || len(d.DecSpecificInfo.DecConfig) == 0 {
				return "", fmt.Errorf("%w: AAC without its AudioSpecificConfig", ErrBad)
			}
			asc, err := aac.DecodeAudioSpecificConfig(bytes.NewReader(d.DecSpecificInfo.DecConfig))
			if err != nil {
				return "", fmt.Errorf("%w: AudioSpecificConfig: %v", ErrBad, err)
			}
			return fmt.Sprintf("mp4a.40.%d", asc.ObjectType), nil
		case 0x69, 0x6B: // MP3
			return fmt.Sprintf("mp4a.%02X", d.ObjectType), nil
		}
		return "", fmt.Errorf("%w: mp4a object type 0x%02X is not carried", ErrUnsupported, d.ObjectType)
	case "ac-3", "ec-3":
		return typ, nil
	case "Opus":
		return "opus", nil
	}
	return "", fmt.Errorf("%w: audio codec %q is not carried", ErrUnsupported, e.Type())
}
