/**
 * Parsing rules the captured vectors do not cover (hemisphere case, padded and missing fields,
 * number syntax, date rollover), pinned to the decoders' behaviour so hand-written fast paths
 * cannot drift from it. Every expectation is the whole message (or the whole error message).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detachedCopy } from '../../src/protocol/cursor.js';
import { PROTOCOL_MODULES } from '../../src/protocol/families.js';
import { isoFromHhmmssDdmmyy, parseDegreesMinutes, utcIso } from '../../src/protocol/geo.js';
import { fixTimeFrom } from '../../src/protocol/gps103/index.js';
import type { ProtocolFamily } from '../../src/protocol/types.js';

const RECEIVED_AT = new Date('2026-03-01T06:00:00Z');

function decode(family: ProtocolFamily, text: string): unknown {
  const r = PROTOCOL_MODULES[family].createSession().handleFrame(Buffer.from(text, 'latin1'), RECEIVED_AT);
  return r.error ? { error: r.error.message } : r.messages[0]?.message;
}

function attempt(fn: () => unknown): unknown {
  try {
    return fn() ?? null;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const FRAMES: Array<[ProtocolFamily, string, unknown]> = [
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,n,06705.7577,w,000.00,000,100117,ffffFbff#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": -67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855, S ,06705.7577, e ,000.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": -18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,X,06705.7577,E,000.00,000,100117,FFFFFBFF#", {"error": "bad latitude hemisphere \"X\""}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,,000.00,000,100117,FFFFFBFF#", {"error": "bad longitude hemisphere \"\""}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E, 12.5 , 90 ,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 23.15, "course": 90, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,,,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,1e3,000,100117,FFFFFBFF#", {"error": "V1: bad speed \"1e3\""}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,+1,000,100117,FFFFFBFF#", {"error": "V1: bad speed \"+1\""}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,-1.5,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": -2.78, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,1.,000,100117,FFFFFBFF#", {"error": "V1: bad speed \"1.\""}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434.123,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,2244,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,10011,FFFFFBFF#", {"error": "V1: bad date \"10011\""}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,311317,FFFFFBFF#", {"error": "bad date/time 2017-13-31 22:44:34"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,4,100117,FFFFFBFF,310,26,1a2b,FFFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal", "cell": {"mcc": 310, "mnc": 26, "lac": 6699, "cid": 65535}}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117,fffffbff, 310 , 26 ,1a2b,ffff#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal", "cell": {"mcc": 310, "mnc": 26, "lac": 6699, "cid": 65535}}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF,31,26,1a2b,ffff#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117,X,1,FFFFFBFE,3#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": ["vibration"], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFE", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z"}],
  ["h02", "*HQ,4106012736,V1,224434,a,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434, V ,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": false, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,9127.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"error": "V1: coordinates out of range"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1860.0000,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"error": "bad coordinate \"1860.0000\""}],
  ["h02", "*HQ,4106012736,V1,000000,V,00.000,n,0,0,0.00,0.00,000000,ffffffff#", {"error": "bad longitude hemisphere \"0\""}],
  ["h02", "*HQ,4106012736,V1,000000,V, 0 ,0,0.0,E,0.00,0.00,000000,ffffffff#", {"protocol": "h02", "msgType": "V1", "type": "other", "emitsRecord": false, "alarms": [], "format": "text", "deviceId": "4106012736", "statusHex": "FFFFFFFF", "ignition": true, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,000000,V,0.0000, ,0.0000,0,0.00,0.00,000000,ffffffff#", {"protocol": "h02", "msgType": "V1", "type": "other", "emitsRecord": false, "alarms": [], "format": "text", "deviceId": "4106012736", "statusHex": "FFFFFFFF", "ignition": true, "relay": "normal"}],
  ["h02", "*HQ, 4106012736 ,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*hq,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF#", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,V1,224434,A,1827.3855,N,06705.7577,E,0.00,000,100117,FFFFFBFF", {"protocol": "h02", "msgType": "V1", "type": "position", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 18.456425, "lon": 67.095962, "speedKmh": 0, "course": 0, "fixTime": "2017-01-10T22:44:34Z", "statusHex": "FFFFFBFF", "ignition": false, "relay": "normal"}],
  ["h02", "*HQ,4106012736,HTBT,abc#", {"error": "HTBT: bad battery level \"abc\""}],
  ["h02", "*HQ,4106012736,HTBT, 55 #", {"protocol": "h02", "msgType": "HTBT", "type": "heartbeat", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "batteryLevel": 55}],
  ["h02", "*HQ,4106012736,V4,S20,DONE,130305#", {"protocol": "h02", "msgType": "V4", "type": "command_reply", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "commandReply": {"command": "S20", "commandTime": "130305", "echoFields": ["DONE"], "result": "success"}}],
  ["h02", "*HQ,4106012736,V4,S20,ok,130305,050316,A,2212.8745,n,11346.6574,E,14.28,028,220902,F7FFFBFF#", {"protocol": "h02", "msgType": "V4", "type": "command_reply", "emitsRecord": true, "alarms": [], "format": "text", "deviceId": "4106012736", "valid": true, "lat": 22.214575, "lon": 113.777623, "speedKmh": 26.45, "course": 28, "fixTime": "2002-09-22T05:03:16Z", "statusHex": "F7FFFBFF", "ignition": false, "relay": "cut", "commandReply": {"command": "S20", "commandTime": "130305", "echoFields": ["ok"], "result": "success"}}],
  ["h02", "*HQ#", {"error": "H02: no device id field"}],
  ["gps103", "imei:359587010124900,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,n,11354.3287,e,0.11,321.53,;", {"protocol": "gps103", "msgType": "tracker", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}, "valid": true, "speedKmh": 0.2, "course": 321.53, "fixTime": "2008-09-23T11:29:09Z"}],
  ["gps103", "imei:359587010124900,tracker,0809231929,,F,112909.397,A, 2234.4669 , N , 11354.3287 , E , 0.11 , 361 , -12.5 , 1 , 0 ,", {"protocol": "gps103", "msgType": "tracker", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker", "door": false}, "valid": true, "lat": 22.574448, "lon": 113.905478, "speedKmh": 0.2, "altitude": -12.5, "ignition": true, "fixTime": "2008-09-23T11:29:09Z"}],
  ["gps103", "imei:359587010124900,tracker,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,1e3,0x10,+5,,,", {"protocol": "gps103", "msgType": "tracker", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}, "valid": true, "lat": 22.574448, "lon": 113.905478, "fixTime": "2008-09-23T11:29:09Z"}],
  ["gps103", "imei:359587010124900,ACC ON,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,,,,,,", {"protocol": "gps103", "msgType": "ACC ON", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "ACC ON"}, "valid": true, "lat": 22.574448, "lon": 113.905478, "fixTime": "2008-09-23T11:29:09Z", "ignition": true}],
  ["gps103", "imei:359587010124900,Acc Off,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,,,,0,,", {"protocol": "gps103", "msgType": "Acc Off", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "Acc Off"}, "valid": true, "lat": 22.574448, "lon": 113.905478, "ignition": false, "fixTime": "2008-09-23T11:29:09Z"}],
  ["gps103", "imei:359587010124900,Help Me,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,,,,,,", {"protocol": "gps103", "msgType": "Help Me", "type": "alarm", "emitsRecord": true, "alarms": ["sos"], "deviceId": "359587010124900", "attributes": {"keyword": "Help Me"}, "valid": true, "lat": 22.574448, "lon": 113.905478, "fixTime": "2008-09-23T11:29:09Z"}],
  ["gps103", "imei:359587010124900,tracker,,,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,,", {"protocol": "gps103", "msgType": "tracker", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}, "valid": true, "lat": 22.574448, "lon": 113.905478, "speedKmh": 0.2}],
  ["gps103", "imei:359587010124900,tracker,0809231929,,L,,,zz,,c9af,,,", {"protocol": "gps103", "msgType": "tracker", "type": "lbs", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}}],
  ["gps103", "imei:359587010124900,tracker,0809231929,,X,,,", {"protocol": "gps103", "msgType": "tracker", "type": "other", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}}],
  ["gps103", "imei:359587010124900,tracker", {"protocol": "gps103", "msgType": "tracker", "type": "other", "emitsRecord": false, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}}],
  ["gps103", "imei:35958701012490,tracker,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,,", {"error": "GPS103: bad IMEI \"35958701012490\""}],
  ["gps103", " imei:359587010124900,tracker,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,, ", {"protocol": "gps103", "msgType": "tracker", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "359587010124900", "attributes": {"keyword": "tracker"}, "valid": true, "lat": 22.574448, "lon": 113.905478, "speedKmh": 0.2, "fixTime": "2008-09-23T11:29:09Z"}],
  ["gps103", "##,imei:35958601582980,A", {"error": "GPS103: record does not start with \"imei:\""}],
  ["gps103", "35958601582980", {"error": "GPS103: record does not start with \"imei:\""}],
  ["tk103", "(027043454867BR00151218A2928.8253N07503.2250E061.7081351136.9900000000L00000000)", {"protocol": "tk103", "msgType": "BR00", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "027043454867", "valid": true, "lat": 29.480422, "lon": 75.05375, "speedKmh": 61.7, "course": 136.99, "fixTime": "2015-12-18T08:13:51Z", "ignition": false, "relay": "normal"}],
  ["tk103", "(027043454867BR00151218A928.8253S7503.2250W061.7081351136.9901800000L1A)", {"protocol": "tk103", "msgType": "BR00", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "027043454867", "valid": true, "lat": -9.480422, "lon": -75.05375, "speedKmh": 61.7, "course": 136.99, "fixTime": "2015-12-18T08:13:51Z", "ignition": true, "relay": "cut"}],
  ["tk103", "(027043454867BR00000000A2928.8253N07503.2250E  0.0081351 999.99)", {"protocol": "tk103", "msgType": "BR00", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "027043454867", "valid": true, "lat": 29.480422, "lon": 75.05375, "speedKmh": 0}],
  ["tk103", "(027043454867BR00151218A2928.8253N 07503.2250E061.7081351136.99,11F00000)", {"protocol": "tk103", "msgType": "BR00", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "027043454867", "valid": true, "lat": 29.480422, "lon": 75.05375, "speedKmh": 61.7, "course": 136.99, "fixTime": "2015-12-18T08:13:51Z", "ignition": true, "relay": "cut", "attributes": {"mainPowerDisconnected": true}}],
  ["tk103", "(027043454867BR00151218X2928.8253N07503.2250E061.7081351136.99)", {"error": "BR00: GPS block not recognised"}],
  ["tk103", "(027043454867BO012151218A2928.8253N07503.2250E061.7081351136.9900000000L00000000)", {"protocol": "tk103", "msgType": "BO01", "type": "alarm", "emitsRecord": true, "alarms": ["sos"], "deviceId": "027043454867", "valid": true, "lat": 29.480422, "lon": 75.05375, "speedKmh": 61.7, "course": 136.99, "fixTime": "2015-12-18T08:13:51Z", "ignition": false, "relay": "normal"}],
  ["tk103", "(864768010009188,BP05,181218,A,2928.8253N,07503.2250E,61.7,081351,136.99,10800000)", {"protocol": "tk103", "msgType": "BP05", "type": "login", "emitsRecord": true, "alarms": [], "deviceId": "864768010009188", "valid": true, "lat": 29.480422, "lon": 75.05375, "speedKmh": 61.7, "course": 136.99, "fixTime": "2018-12-18T08:13:51Z", "ignition": false, "relay": "cut", "attributes": {"mainPowerDisconnected": true}}],
  ["tk103", "(864768010009188,ZC11,181218,V,2928.8253S,07503.2250W,0,081351,0)", {"protocol": "tk103", "msgType": "ZC11", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "864768010009188", "valid": false, "lat": -29.480422, "lon": -75.05375, "speedKmh": 0, "course": 0, "fixTime": "2018-12-18T08:13:51Z"}],
  ["tk103", "(864768010009188,ZC03,$hello OK$)", {"protocol": "tk103", "msgType": "ZC03", "type": "command_reply", "emitsRecord": true, "alarms": [], "deviceId": "864768010009188", "reply": "hello OK", "commandReply": {"text": "hello OK", "result": "success"}}],
  ["tk103", "(BALLESTEROS3BR00151218A2928.8253N07503.2250E061.7081351136.9900000000L00000000)", {"protocol": "tk103", "msgType": "BR00", "type": "position", "emitsRecord": true, "alarms": [], "deviceId": "BALLESTEROS3", "valid": true, "lat": 29.480422, "lon": 75.05375, "speedKmh": 61.7, "course": 136.99, "fixTime": "2015-12-18T08:13:51Z", "ignition": false, "relay": "normal"}],
];

const COORDINATES: Array<[string, string | undefined, unknown]> = [
  ["5214.5346", "N", 52.242243],
  ["5214.5346", "n", 52.242243],
  ["5214.5346", "s", -52.242243],
  [" 954.9490 ", "e", 9.915817],
  ["954.9490", "w", -9.915817],
  ["37573392", "S", -37.955653],
  ["3757", "S", {"error": "bad coordinate \"3757\""}],
  ["-23-35.3408", "S", -23.589013],
  ["-23-35.3408", undefined, -23.589013],
  ["-23-35.3408", "x", -23.589013],
  ["23-5", "N", 23.083333],
  ["5260.0000", "N", {"error": "bad coordinate \"5260.0000\""}],
  ["5259.99999", "N", 53],
  ["-5214.5346", "N", {"error": "bad coordinate \"-5214.5346\""}],
  ["", "N", {"error": "empty coordinate"}],
  ["12.34.5", "N", {"error": "bad coordinate \"12.34.5\""}],
  ["0", "N", {"error": "bad coordinate \"0\""}],
  ["00000", undefined, 0],
  ["18000.0000", "E", 180],
  ["1e3", "N", {"error": "bad coordinate \"1e3\""}],
  ["+5214.5", "N", {"error": "bad coordinate \"+5214.5\""}],
];

const TIMES: Array<[string, string, unknown]> = [
  ["123456", "010226", "2026-02-01T12:34:56Z"],
  ["235960", "311224", "2024-12-31T23:59:59Z"],
  ["120000.500", "290224", "2024-02-29T12:00:00Z"],
  ["120000", "290223", {"error": "bad date/time 2023-2-29 12:0:0"}],
  ["12000", "010226", {"error": "bad time \"12000\" / date \"010226\""}],
  ["240000", "010226", {"error": "bad date/time 2026-2-1 24:0:0"}],
  ["120000.", "010226", {"error": "bad time \"120000.\" / date \"010226\""}],
  ["120000", "000000", {"error": "bad date/time 2000-0-0 12:0:0"}],
];

const DATES: Array<[[number, number, number, number, number, number], unknown]> = [
  [[2024, 2, 29, 0, 0, 0], "2024-02-29T00:00:00Z"],
  [[26, 13, 1, 0, 0, 0], {"error": "bad date/time 2026-13-1 0:0:0"}],
  [[26, 4, 31, 0, 0, 0], {"error": "bad date/time 2026-4-31 0:0:0"}],
  [[99, 12, 31, 23, 59, 60], "2099-12-31T23:59:59Z"],
];

const GPS103_TIMES: Array<[string, string, unknown]> = [
  ["1602160718", "221811.000", "2016-02-15T22:18:11Z"],
  ["1602162330", "000500.000", "2016-02-17T00:05:00Z"],
  ["1603010030", "233000", "2016-02-29T23:30:00Z"],
  ["160301003045", "233000", "2016-02-29T23:30:00Z"],
  ["13/05/25 14:23", "062209.000", "2013-05-25T06:22:09Z"],
  ["13/02/28 23:40", "125952.000", "2013-02-28T12:59:52Z"],
  ["1612311500", "030000", "2016-12-31T03:00:00Z"],
  ["1613011500", "030000", null],
  ["1602311500", "030000", "2016-03-02T03:00:00Z"],
  [" 1602160718 ", "221811", "2016-02-15T22:18:11Z"],
  ["1602160718", "2218", null],
  ["1602160718", "221811x", null],
  ["1602160718", "246000", null],
  ["000000000", "010203", null],
  ["1602169999", "010203", "2016-02-17T01:02:03Z"],
];

describe('parsing edges the vectors do not cover', () => {
  for (const [family, text, want] of FRAMES) {
    it(`${family} ${text}`, () => {
      assert.deepEqual(decode(family, text), want);
    });
  }
  it('parseDegreesMinutes', () => {
    for (const [text, hemisphere, want] of COORDINATES) assert.deepEqual(attempt(() => parseDegreesMinutes(text, hemisphere)), want, `${text} ${hemisphere}`);
  });
  it('isoFromHhmmssDdmmyy', () => {
    for (const [time, date, want] of TIMES) assert.deepEqual(attempt(() => isoFromHhmmssDdmmyy(time, date)), want, `${time} ${date}`);
  });
  it('utcIso', () => {
    for (const [args, want] of DATES) assert.deepEqual(attempt(() => utcIso(...args)), want, args.join(','));
  });
  it('GPS103 local date + UTC time of day (rollover both ways, overflowing fields as Date.UTC does)', () => {
    for (const [local, utc, want] of GPS103_TIMES) assert.deepEqual(attempt(() => fixTimeFrom(local, utc)), want, `${local} ${utc}`);
  });
});

describe('ids a session keeps', () => {
  it('detachedCopy gives back the same text for 8-bit, wider and unpaired-surrogate strings', () => {
    const login = '*HQ,860000001002924,V0#';
    for (const s of [login.slice(4, 19), 'ñandú-Ü', '设备-4711', 'a\ud800b', '']) assert.equal(detachedCopy(s), s);
  });

  it('an H02 session keeps its login\'s id and answers in the maker the unit used', () => {
    const session = PROTOCOL_MODULES.h02.createSession();
    session.handleFrame(Buffer.from('*HQ,860000001002924,V0#', 'latin1'), RECEIVED_AT);
    assert.equal(session.deviceId, '860000001002924');
    // Relay commands go out in the maker the unit used, a common one or any other.
    for (const maker of ['TH', 'hq', 'XY']) {
      const other = PROTOCOL_MODULES.h02.createSession();
      other.handleFrame(Buffer.from(`*${maker},860000001002924,HTBT#`, 'latin1'), RECEIVED_AT);
      const cut = other.encodeRelay('engine_stop', { now: RECEIVED_AT, commandRef: 1 });
      assert.ok(cut.bytes.toString('latin1').startsWith(`*${maker},860000001002924,`), maker);
    }
  });
});
