package workflows

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// Every settled request of a run is answered with Notify, after its final
// state is recorded, carrying its ID only; a failing Notify does not fail
// the run.
func TestRequestRunNotifiesEachSettledRequest(t *testing.T) {
	tests := []struct {
		name      string
		fakes     requestFakes
		notifyErr error
		want      map[string]string // request ID → state recorded before Notify
	}{
		{
			name: "stored and not found",
			want: map[string]string{
				"r1": contract.RequestStored, "r2": contract.RequestStored, "r3": contract.RequestNotFound,
			},
		},
		{
			name:  "run failed",
			fakes: requestFakes{cleanErr: errors.New("lake unavailable")},
			want:  map[string]string{"r1": contract.RequestFailed, "r2": contract.RequestFailed, "r3": contract.RequestFailed},
		},
		{
			name:      "answers cannot be delivered",
			notifyErr: errors.New("response_url refused"),
			want: map[string]string{
				"r1": contract.RequestStored, "r2": contract.RequestStored, "r3": contract.RequestNotFound,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, rec := newRequestEnv(t, tt.fakes)
			var a *activities.Activities
			var mu sync.Mutex
			got := map[string]string{}
			calls := 0
			env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in contract.NotifyInput) (contract.NotifyResult, error) {
					mu.Lock()
					defer mu.Unlock()
					calls++
					got[in.RequestID] = rec.lastMark(in.RequestID).State
					return contract.NotifyResult{Delivery: "response_url"}, tt.notifyErr
				})
			signalAt(env, 0, "r1", "Band One")
			signalAt(env, time.Second, "r2", "band one")
			signalAt(env, 2*time.Second, "r3", "unknown band")
			env.ExecuteWorkflow(ArtistRequestWorkflow, ArtistRequestInput{IdleTimeout: time.Hour})

			next := continuedWith(t, env)
			require.Len(t, next.Recent, 3)
			require.Equal(t, tt.want, got)
			wantCalls := len(tt.want)
			if tt.notifyErr != nil {
				// Retried, then given up on without failing the run.
				require.Greater(t, calls, wantCalls)
				for _, o := range next.Recent {
					require.NotEqual(t, contract.RequestFailed, o.State, "a failed answer does not fail request %s", o.ID)
				}
			} else {
				require.Equal(t, wantCalls, calls)
			}
		})
	}
}

// The request signal and Notify's input carry no reply target: nothing a
// client could use to post to a channel reaches workflow history.
func TestRequestTypesCarryNoReplyTarget(t *testing.T) {
	for _, v := range []any{ArtistRequest{}, contract.NotifyInput{}, RequestOutcome{}} {
		fields := jsonFields(t, v)
		sort.Strings(fields)
		for _, f := range fields {
			require.NotContains(t, []string{"reply_to", "response_url", "callback_url", "url", "channel"}, f, "%T", v)
		}
	}
}

// jsonFields lists the JSON names of v's fields, embedded structs
// included.
func jsonFields(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(t, reflect.Zero(f.Type).Interface())...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, strings.ToLower(name))
	}
	return out
}
